"""Every aws_* resource and data block uses only arguments and blocks the AWS provider has, and sets
every required one. The schema is distilled from @cdktf/provider-aws by scripts/extract_aws_schema.py
and committed (tests/terraform/aws_provider_schema.json)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.terraform.tfmodel import (
    BLOCK_MARK,
    META_ARGUMENTS,
    MODULE_NAMES,
    all_modules,
    body,
    is_block_list,
    load_schema,
    unquote,
)

SCHEMA = load_schema()


def check_block(spec: dict[str, Any], conf: dict[str, Any], where: str, top: bool = False) -> list[str]:
    """Problems of one block body against its schema (recursively)."""
    problems: list[str] = []
    if spec.get("open"):  # a recursive block the schema does not describe (WAF statements)
        return problems
    arguments: dict[str, bool] = spec["arguments"]
    blocks: dict[str, dict[str, Any]] = spec["blocks"]
    present: set[str] = set()
    for key, value in conf.items():
        if top and key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, dynamic_body in dynamic.items():
                    if label == BLOCK_MARK:
                        continue
                    name = unquote(label)
                    if name not in blocks:
                        problems.append(f'{where}: dynamic "{name}" is not a nested block')
                        continue
                    present.add(name)
                    for content in dynamic_body.get("content", []):
                        problems += check_block(blocks[name], body(content), f"{where}.{name}")
            continue
        if key in blocks:
            present.add(key)
            if not is_block_list(value):
                problems.append(f"{where}: {key} is a nested block but is set as an argument")
                continue
            for item in value:
                problems += check_block(blocks[key], body(item), f"{where}.{key}")
        elif key in arguments:
            present.add(key)
            if is_block_list(value):
                problems.append(f"{where}: {key} is an argument but is written as a block")
        else:
            problems.append(f"{where}: unknown argument or block {key!r}")
    problems += [
        f"{where}: required argument {n!r} missing" for n, req in arguments.items() if req and n not in present
    ]
    problems += [
        f"{where}: required block {n!r} missing" for n, b in blocks.items() if b["required"] and n not in present
    ]
    return problems


def _declarations():
    for module_name in ["root", *MODULE_NAMES]:
        module = all_modules()[module_name]
        for (rtype, rname), conf in module.resources.items():
            yield module_name, "resources", rtype, rname, conf
        for (dtype, dname), conf in module.data_sources.items():
            yield module_name, "data_sources", dtype, dname, conf


DECLARATIONS = list(_declarations())


def test_schema_file_records_its_source():
    assert SCHEMA["package"] == "@cdktf/provider-aws"
    assert SCHEMA["version"].startswith("21.22.")
    assert SCHEMA["provider_version"].startswith("6.")


def test_schema_covers_every_type_used():
    used = {(section, rtype) for _, section, rtype, _, _ in DECLARATIONS if rtype.startswith("aws_")}
    missing = sorted(f"{section}/{rtype}" for section, rtype in used if rtype not in SCHEMA[section])
    assert not missing, f"run `make schema` (scripts/extract_aws_schema.py): {missing}"


def test_schema_has_no_computed_only_attributes():
    # Computed-only attributes (arn, id of a bucket's website, ...) are absent from the configuration
    # interfaces the schema comes from, so they can never look settable.
    assert "arn" not in SCHEMA["resources"]["aws_s3_bucket"]["arguments"]
    assert "arn" not in SCHEMA["resources"]["aws_lambda_function"]["arguments"]
    assert "repository_url" not in SCHEMA["resources"]["aws_ecr_repository"]["arguments"]
    assert SCHEMA["resources"]["aws_lambda_function"]["arguments"]["function_name"] is True
    assert "environment" in SCHEMA["resources"]["aws_lambda_function"]["blocks"]


@pytest.mark.parametrize(
    ("module_name", "section", "rtype", "rname", "conf"),
    DECLARATIONS,
    ids=[f"{m}:{'data.' if s == 'data_sources' else ''}{t}.{n}" for m, s, t, n, _ in DECLARATIONS],
)
def test_block_matches_provider_schema(module_name, section, rtype, rname, conf):
    if not rtype.startswith("aws_"):
        pytest.skip("not an AWS provider type")
    problems = check_block(SCHEMA[section][rtype], conf, f"{module_name}: {rtype}.{rname}", top=True)
    assert not problems, "\n".join(problems)


def test_checker_rejects_unknown_missing_and_misplaced():
    spec = SCHEMA["resources"]["aws_s3_bucket_versioning"]
    good = {"bucket": "${aws_s3_bucket.this.id}", "versioning_configuration": [{"status": "Enabled", BLOCK_MARK: True}]}
    assert check_block(spec, good, "t", top=True) == []
    assert any("unknown" in p for p in check_block(spec, {**good, "versioning": "x"}, "t", top=True))
    assert any(
        "required argument 'bucket'" in p
        for p in check_block(spec, {k: v for k, v in good.items() if k != "bucket"}, "t")
    )
    misplaced = {**good, "versioning_configuration": {"status": "Enabled"}}
    assert any("set as an argument" in p for p in check_block(spec, misplaced, "t"))
    rule = SCHEMA["resources"]["aws_wafv2_web_acl"]["blocks"]["rule"]
    assert rule["blocks"]["statement"]["open"] is True
    open_block = {"name": '"r"', "priority": 1, "statement": [{"anything": 1, BLOCK_MARK: True}]}
    assert not any("statement" in p for p in check_block(rule, open_block, "t"))
    assert "t: statement is a nested block but is set as an argument" in check_block(
        rule, {**open_block, "statement": {"anything": 1}}, "t"
    )
    nested = {**good, "versioning_configuration": [{"state": "Enabled", BLOCK_MARK: True}]}
    problems = check_block(spec, nested, "t")
    assert any("'state'" in p for p in problems) and any("'status'" in p for p in problems)
