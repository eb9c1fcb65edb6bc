"""Read the Terraform configuration under terraform/ with python-hcl2, without Terraform.

python-hcl2 returns blocks as lists of dicts marked `__is_block__`, block labels and string literals
with their quotes, and expressions as `${...}` strings; the helpers here smooth that over.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
SCHEMA_PATH = Path(__file__).resolve().parent / "aws_provider_schema.json"
MODULE_NAMES = ("network", "s3", "lambda", "ecs", "iam", "eventbridge", "notifications", "monitoring")

BLOCK_MARK = "__is_block__"
# Arguments and blocks Terraform itself handles in resource and data blocks.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
# Arguments of a module block that are not input variables.
MODULE_META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}

_VAR_REF = re.compile(r"(?<![\w.])var\.([A-Za-z_][A-Za-z0-9_-]*)")
_LOCAL_REF = re.compile(r"(?<![\w.])local\.([A-Za-z_][A-Za-z0-9_-]*)")
_MODULE_REF = re.compile(r"(?<![\w.])module\.([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
_RESOURCE_REF = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")
_DATA_REF = re.compile(r"(?<![\w.])data\.(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")


def unquote(value: Any) -> Any:
    """`"\\"text\\""` -> `text`; anything else unchanged."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(BLOCK_MARK) for v in value)


def body(value: dict[str, Any]) -> dict[str, Any]:
    """A block body without the parser's bookkeeping keys (`__is_block__`, `__comments__`)."""
    return {k: v for k, v in value.items() if not k.startswith("__")}


@dataclass
class Module:
    """One Terraform module directory: what it declares and what it references."""

    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "root" if self.path == TERRAFORM_DIR else self.path.name

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        return [item for parsed in self.files.values() for item in parsed.get(kind, [])]

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): body(v) for item in self.blocks("variable") for k, v in item.items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): body(v) for item in self.blocks("output") for k, v in item.items()}

    @property
    def locals(self) -> dict[str, Any]:
        return {k: v for item in self.blocks("locals") for k, v in body(item).items()}

    @property
    def module_calls(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): body(v) for item in self.blocks("module") for k, v in item.items()}

    def _typed(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for item in self.blocks(kind):
            for rtype, named in item.items():
                for rname, rbody in named.items():
                    found[(unquote(rtype), unquote(rname))] = body(rbody)
        return found

    @property
    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("resource")

    @property
    def data_sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("data")

    def text(self) -> str:
        """Every parsed expression of the module as one string, for reference scanning."""
        return json.dumps(self.files, sort_keys=True)

    def var_refs(self) -> set[str]:
        return set(_VAR_REF.findall(self.text()))

    def local_refs(self) -> set[str]:
        return set(_LOCAL_REF.findall(self.text()))

    def module_refs(self) -> set[tuple[str, str]]:
        return set(_MODULE_REF.findall(self.text()))

    def resource_refs(self) -> set[tuple[str, str]]:
        text = _DATA_REF.sub("", self.text())
        return set(_RESOURCE_REF.findall(text))

    def data_refs(self) -> set[tuple[str, str]]:
        return set(_DATA_REF.findall(self.text()))


def load_module(path: Path) -> Module:
    module = Module(path)
    for tf in sorted(path.glob("*.tf")):
        with tf.open(encoding="utf-8") as handle:
            module.files[tf.name] = hcl2.load(handle)
    return module


@cache
def all_modules() -> dict[str, Module]:
    """The root module and the eight child modules, by name."""
    found = {"root": load_module(TERRAFORM_DIR)}
    for child in sorted(p for p in MODULES_DIR.iterdir() if p.is_dir()):
        found[child.name] = load_module(child)
    return found


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts)


def hcl_files() -> list[Path]:
    """Every file written in HCL syntax: .tf, the tfvars example and the backend example."""
    examples = sorted(TERRAFORM_DIR.glob("*.example"))
    return tf_files() + examples


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
