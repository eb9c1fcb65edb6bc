"""Every HCL file is laid out the way `terraform fmt` would lay it out (see hclfmt.py)."""

from __future__ import annotations

import pytest

from tests.terraform.hclfmt import check_hcl, format_hcl
from tests.terraform.tfmodel import TERRAFORM_DIR, hcl_files


@pytest.mark.parametrize("path", hcl_files(), ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_file_is_formatted(path):
    problems = check_hcl(path.read_text(encoding="utf-8"))
    assert not problems, f"{path}:\n" + "\n".join(problems)


GOOD = """\
resource "aws_s3_bucket" "this" {
  count = var.create ? 1 : 0

  bucket        = var.name
  force_destroy = false
  tags = merge(var.tags, {
    Name = var.name
  })

  # a comment breaks the alignment run
  lifecycle {
    prevent_destroy = true
  }
}

locals {
  a   = "x == y"
  bcd = { k = 1 }
  e = [
    "one",
    "two",
  ]
  f = length(var.list) >= 2 ? "${var.x}-{" : "}"
}
"""


def test_known_good_snippet_passes():
    assert check_hcl(GOOD) == []
    assert format_hcl(GOOD) == GOOD


@pytest.mark.parametrize(
    ("bad", "fixed"),
    [
        # misaligned `=` in a run of single-line assignments
        ("x {\n  a = 1\n  bcd = 2\n}\n", "x {\n  a   = 1\n  bcd = 2\n}\n"),
        # alignment across a multi-line value is wrong: the opener ends the run
        ("x {\n  a    = 1\n  tags = {\n    k = 1\n  }\n}\n", "x {\n  a = 1\n  tags = {\n    k = 1\n  }\n}\n"),
        # four-space indent
        ("x {\n    a = 1\n}\n", "x {\n  a = 1\n}\n"),
        # tab indent
        ("x {\n\ta = 1\n}\n", "x {\n  a = 1\n}\n"),
        # trailing whitespace
        ("x {\n  a = 1 \n}\n", "x {\n  a = 1\n}\n"),
        # missing final newline / extra blank lines at the end
        ("x {\n  a = 1\n}", "x {\n  a = 1\n}\n"),
        ("x {\n  a = 1\n}\n\n\n", "x {\n  a = 1\n}\n"),
        # two spaces after `=`
        ("x {\n  a =  1\n}\n", "x {\n  a = 1\n}\n"),
        # closing bracket not dedented
        ("x {\n  a = [\n    1,\n    ]\n}\n", "x {\n  a = [\n    1,\n  ]\n}\n"),
    ],
)
def test_known_bad_snippets_are_reported_and_fixed(bad, fixed):
    assert check_hcl(bad), f"not reported: {bad!r}"
    assert format_hcl(bad) == fixed
    assert check_hcl(fixed) == []


def test_strings_and_comparisons_do_not_count_as_assignments_or_brackets():
    text = 'x {\n  a = "{[(= ${var.b}"\n  cc = var.d == "e" ? "(" : "]"\n}\n'
    assert format_hcl(text) == 'x {\n  a  = "{[(= ${var.b}"\n  cc = var.d == "e" ? "(" : "]"\n}\n'


@pytest.mark.parametrize(
    "unsupported",
    ["x = <<EOT\nhello\nEOT\n", "a = 1 # trailing comment\n", "/* spans\nlines */\n"],
)
def test_unsupported_constructs_are_reported(unsupported):
    assert check_hcl(unsupported)
