"""Every HCL file parses, and every reference between and inside the modules resolves."""

from __future__ import annotations

import re

import hcl2
import pytest

from tests.terraform.tfmodel import (
    MODULE_META_ARGUMENTS,
    MODULE_NAMES,
    MODULES_DIR,
    TERRAFORM_DIR,
    all_modules,
    hcl_files,
    unquote,
)


@pytest.mark.parametrize("path", hcl_files(), ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_every_hcl_file_parses(path):
    with path.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    assert parsed, f"{path} is empty"


def test_root_and_all_eight_modules_exist():
    assert set(all_modules()) == {"root", *MODULE_NAMES}


def test_module_calls_match_module_variables():
    root = all_modules()["root"]
    modules = all_modules()
    assert set(root.module_calls) == set(MODULE_NAMES)
    for name, call in root.module_calls.items():
        source = unquote(call["source"])
        assert source == f"./modules/{name}", f"module {name}: unexpected source {source}"
        assert (TERRAFORM_DIR / source).resolve() == (MODULES_DIR / name).resolve()
        child = modules[name]
        passed = set(call) - MODULE_META_ARGUMENTS
        unknown = passed - set(child.variables)
        assert not unknown, f"module {name}: passes undeclared variables {sorted(unknown)}"
        required = {v for v, spec in child.variables.items() if "default" not in spec}
        missing = required - passed
        assert not missing, f"module {name}: required variables not passed {sorted(missing)}"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_module_outputs_used_exist(name):
    modules = all_modules()
    module = modules[name]
    for call, output in module.module_refs():
        assert call in module.module_calls, f"{name}: module.{call} is not a module call"
        source = unquote(module.module_calls[call]["source"])
        child = modules[source.rsplit("/", 1)[-1]]
        assert output in child.outputs, f"{name}: module.{call}.{output} is not an output of {source}"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_vars_and_locals_used_are_declared(name):
    module = all_modules()[name]
    undeclared_vars = module.var_refs() - set(module.variables)
    assert not undeclared_vars, f"{name}: var.{sorted(undeclared_vars)} not declared"
    undeclared_locals = module.local_refs() - set(module.locals)
    assert not undeclared_locals, f"{name}: local.{sorted(undeclared_locals)} not declared"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_declared_variables_and_locals_are_used(name):
    module = all_modules()[name]
    unused = set(module.variables) - module.var_refs()
    assert not unused, f"{name}: variables never used: {sorted(unused)}"
    unused_locals = set(module.locals) - module.local_refs()
    assert not unused_locals, f"{name}: locals never used: {sorted(unused_locals)}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_resource_and_data_references_exist(name):
    module = all_modules()[name]
    missing = module.resource_refs() - set(module.resources)
    assert not missing, f"{name}: references to undeclared resources {sorted(missing)}"
    missing_data = module.data_refs() - set(module.data_sources)
    assert not missing_data, f"{name}: references to undeclared data sources {sorted(missing_data)}"


def test_root_main_only_composes_modules():
    root = all_modules()["root"]
    assert not root.resources, "the root module declares resources; put them in a module"
    assert not root.data_sources, "the root module declares data sources; put them in a module"
    main = root.files["main.tf"]
    assert set(main) <= {"locals", "module"}


def test_reference_scanner_sees_expressions_in_strings_and_nested_blocks():
    text = 'x = "${var.a}-${local.b}"\nblock {\n  y = module.c.d\n  z = aws_s3_bucket.e.arn\n}\n'
    parsed = hcl2.loads(text)
    module = type(all_modules()["root"])(TERRAFORM_DIR, {"t.tf": parsed})
    assert module.var_refs() == {"a"}
    assert module.local_refs() == {"b"}
    assert module.module_refs() == {("c", "d")}
    assert module.resource_refs() == {("aws_s3_bucket", "e")}
    assert not re.search(r"__is_block__", str(module.variables))
