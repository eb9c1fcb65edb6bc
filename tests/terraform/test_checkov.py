"""checkov over terraform/ reports zero failed checks, and every skip is inline with a real reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.terraform.tf import ROOT as REPO_ROOT
from tests.terraform.tf import TERRAFORM_DIR


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts)


CHECKOV_BIN = os.environ.get("CHECKOV_BIN", str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")
MIN_REASON_LENGTH = 30


def run_checkov(*extra: str) -> dict:
    """checkov's terraform report for terraform/ (extra arguments, e.g. `--var-file`, appended)."""
    if not Path(CHECKOV_BIN).exists():
        pytest.fail(f"checkov not found at {CHECKOV_BIN}: run `make .venv-checkov/.installed` (or `make test`)")
    result = subprocess.run(
        [
            CHECKOV_BIN,
            "--directory",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--download-external-modules",
            "false",
            "--skip-download",
            "--output",
            "json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode in (0, 1), f"checkov crashed ({result.returncode}):\n{result.stderr[-3000:]}"
    data = json.loads(result.stdout)
    if isinstance(data, list):
        data = next(item for item in data if item.get("check_type") == "terraform")
    return data


@pytest.fixture(scope="module")
def report() -> dict:
    return run_checkov()


def _inline_skips() -> list[tuple[Path, int, str, str]]:
    found = []
    for path in tf_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line.strip())
            if match:
                found.append((path, number, match.group(1), (match.group(2) or "").strip()))
    return found


def test_checkov_reports_no_failed_checks(report):
    failed = report["results"].get("failed_checks", [])
    lines = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in failed]
    assert not failed, "checkov failed checks:\n" + "\n".join(lines)


def test_checkov_scanned_the_whole_configuration(report):
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 80
    assert summary["passed"] >= 200


def test_every_skip_is_inline_with_a_reason(report):
    for check in report["results"].get("skipped_checks", []):
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= MIN_REASON_LENGTH, f"{check['check_id']} on {check['resource']}: reason too short"
    for path, number, check_id, reason in _inline_skips():
        assert len(reason) >= MIN_REASON_LENGTH, f"{path}:{number}: skip {check_id} needs a real reason"


def test_no_stale_skips(report):
    skipped = {(c["check_id"], Path(c["file_abs_path"]).resolve()) for c in report["results"].get("skipped_checks", [])}
    stale = [
        f"{path.relative_to(REPO_ROOT)}:{number} {check_id}"
        for path, number, check_id, _ in _inline_skips()
        if (check_id, path.resolve()) not in skipped
    ]
    assert not stale, "skip comments for checks that no longer apply: " + ", ".join(stale)


def test_no_checkov_config_file_hides_checks():
    for name in (".checkov.yaml", ".checkov.yml"):
        assert not (REPO_ROOT / name).exists()
        assert not (TERRAFORM_DIR / name).exists()
