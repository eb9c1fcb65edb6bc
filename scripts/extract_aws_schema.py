#!/usr/bin/env python3
"""Distil the AWS provider schema of the resource types used under terraform/ into a compact JSON file.

The Terraform provider registry is not reachable from the build machines, so `terraform validate` cannot
run. The npm package `@cdktf/provider-aws` is generated from the provider's own schema and ships it in its
`.jsii` assembly: one configuration interface per resource or data source, one property per settable
argument or nested block. Computed-only attributes have no property there, so they never look settable.

For each property the Terraform name is the anchor of its documentation link
(`.../docs/resources/<type>#<argument_name>`); a nested block is a property whose summary reads
`"<block_name> block."` and whose type is another interface of the assembly.

Output shape (sorted, stable, committed as tests/terraform/aws_provider_schema.json):

    {"package": "@cdktf/provider-aws", "version": "21.22.1", "provider_version": "6.25.0",
     "resources": {"aws_s3_bucket": {"arguments": {"bucket": false, ...},
                                     "blocks": {"timeouts": {"required": false, "arguments": {...},
                                                             "blocks": {...}}}}},
     "data_sources": {...}}

Argument values are "required" flags. A recursive block (a WAF rule's `statement`) is typed `any` in the
assembly; it is recorded as `{"required": ..., "open": true, "arguments": {}, "blocks": {}}` and its content
is not checked. Usage:

    scripts/extract_aws_schema.py                      # download the pinned package with npm pack
    scripts/extract_aws_schema.py --jsii path/.jsii    # reuse an unpacked assembly
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@cdktf/provider-aws"
DEFAULT_VERSION = "21.22.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TERRAFORM_DIR = REPO_ROOT / "terraform"
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "terraform" / "aws_provider_schema.json"

_KIND_DIRS = {"cdktf.TerraformResource": "resources", "cdktf.TerraformDataSource": "data-sources"}
_TYPE_LINK = re.compile(r"/docs/(resources|data-sources)/([a-z0-9_]+) (aws_[a-z0-9_]+)\}")
_ANCHOR = re.compile(r"/docs/(?:resources|data-sources)/[a-z0-9_]+#([a-z0-9_]+)[ }]")
_BLOCK_SUMMARY = re.compile(r"^([a-z0-9_]+) block\.$")
_USED_TYPE = re.compile(r'^\s*(resource|data)\s+"(aws_[a-z0-9_]+)"', re.MULTILINE)


def used_types(terraform_dir: Path) -> tuple[set[str], set[str]]:
    """Return the aws_* resource types and data source types declared in any .tf file below the dir."""
    resources: set[str] = set()
    data_sources: set[str] = set()
    for path in sorted(terraform_dir.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for kind, name in _USED_TYPE.findall(path.read_text(encoding="utf-8")):
            (resources if kind == "resource" else data_sources).add(name)
    return resources, data_sources


def download_assembly(version: str, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fetch the package tarball with `npm pack` and return (jsii assembly, package.json)."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{version}", "--silent", "--pack-destination", str(workdir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise SystemExit(f"expected one tarball from npm pack in {workdir}, found {len(tarballs)}")
    with tarfile.open(tarballs[0], "r:gz") as tar:
        assembly = _read_member(tar, "package/.jsii")
        package_json = _read_member(tar, "package/package.json")
    return assembly, package_json


def _read_member(tar: tarfile.TarFile, name: str) -> dict[str, Any]:
    member = tar.extractfile(name)
    if member is None:
        raise SystemExit(f"{name} missing from the package tarball")
    with member:
        return json.load(member)


def _interface_fqns(type_ref: dict[str, Any]) -> list[str]:
    """Every interface fqn reachable in a jsii type reference (plain, collection or union)."""
    if "fqn" in type_ref:
        return [type_ref["fqn"]]
    if "collection" in type_ref:
        return _interface_fqns(type_ref["collection"]["elementtype"])
    if "union" in type_ref:
        return [fqn for member in type_ref["union"]["types"] for fqn in _interface_fqns(member)]
    return []


class Assembly:
    """Read access to the configuration interfaces of one jsii assembly."""

    def __init__(self, assembly: dict[str, Any]) -> None:
        self.types: dict[str, dict[str, Any]] = assembly["types"]
        self.name: str = assembly["name"]

    def index(self) -> dict[str, dict[str, str]]:
        """Map "resources"/"data_sources" -> terraform type -> fqn of its configuration interface."""
        found: dict[str, dict[str, str]] = {"resources": {}, "data_sources": {}}
        for spec in self.types.values():
            base = spec.get("base")
            if spec.get("kind") != "class" or base not in _KIND_DIRS:
                continue
            match = _TYPE_LINK.search(spec.get("docs", {}).get("summary", ""))
            if not match or match.group(1) != _KIND_DIRS[base]:
                continue
            config = next(p for p in spec["initializer"]["parameters"] if p["name"] == "config")
            section = "resources" if base == "cdktf.TerraformResource" else "data_sources"
            found[section][match.group(3)] = config["type"]["fqn"]
        return found

    def _properties(self, fqn: str) -> list[dict[str, Any]]:
        spec = self.types[fqn]
        props = list(spec.get("properties", []))
        for parent in spec.get("interfaces", []):
            if parent in self.types:  # cdktf.* meta-arguments live in another assembly: skipped
                props.extend(self._properties(parent))
        return props

    def block_schema(self, fqn: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """Arguments (name -> required) and nested blocks of one configuration interface."""
        if fqn in seen:
            raise SystemExit(f"recursive block type {fqn}")
        arguments: dict[str, bool] = {}
        blocks: dict[str, dict[str, Any]] = {}
        for prop in self._properties(fqn):
            docs = prop.get("docs", {})
            text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
            required = not prop.get("optional", False)
            block = _BLOCK_SUMMARY.match(docs.get("summary", "").strip())
            nested = [f for f in _interface_fqns(prop["type"]) if f.startswith(self.name + ".")]
            if block and nested:
                schema = self.block_schema(nested[0], (*seen, fqn))
                blocks[block.group(1)] = {"required": required, **schema}
                continue
            if block and prop["type"].get("primitive") == "any":
                # A recursive block (a WAF rule's statement) is typed `any`: a block whose content is not described.
                blocks[block.group(1)] = {"required": required, "open": True, "arguments": {}, "blocks": {}}
                continue
            anchor = _ANCHOR.search(text)
            name = anchor.group(1) if anchor else _snake(prop["name"])
            arguments[name] = required
        return {"arguments": dict(sorted(arguments.items())), "blocks": dict(sorted(blocks.items()))}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def build_schema(
    assembly: dict[str, Any],
    package_json: dict[str, Any],
    resources: set[str],
    data_sources: set[str],
) -> dict[str, Any]:
    reader = Assembly(assembly)
    index = reader.index()
    missing = sorted(
        [f"resource {r}" for r in resources if r not in index["resources"]]
        + [f"data {d}" for d in data_sources if d not in index["data_sources"]]
    )
    if missing:
        raise SystemExit("types not in the provider schema: " + ", ".join(missing))
    provider = package_json.get("cdktf", {}).get("provider", {})
    return {
        "package": PACKAGE,
        "version": package_json["version"],
        "provider": provider.get("name", "registry.terraform.io/hashicorp/aws"),
        "provider_version": provider.get("version"),
        "resources": {r: reader.block_schema(index["resources"][r]) for r in sorted(resources)},
        "data_sources": {d: reader.block_schema(index["data_sources"][d]) for d in sorted(data_sources)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help=f"{PACKAGE} version to read")
    parser.add_argument("--jsii", type=Path, help="an unpacked .jsii file (skips the download)")
    parser.add_argument("--package-json", type=Path, help="package.json next to --jsii")
    parser.add_argument("--terraform-dir", type=Path, default=DEFAULT_TERRAFORM_DIR)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    resources, data_sources = used_types(args.terraform_dir)
    if args.jsii:
        assembly = json.loads(args.jsii.read_text(encoding="utf-8"))
        package_path = args.package_json or args.jsii.with_name("package.json")
        package_json = json.loads(package_path.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="aws-schema-") as tmp:
            assembly, package_json = download_assembly(args.version, Path(tmp))

    schema = build_schema(assembly, package_json, resources, data_sources)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"wrote {args.output}: {len(schema['resources'])} resource types, "
        f"{len(schema['data_sources'])} data sources from {PACKAGE} {schema['version']} "
        f"(hashicorp/aws {schema['provider_version']})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
