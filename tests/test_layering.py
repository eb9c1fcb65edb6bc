"""The architecture stays visible: layering contracts (import-linter), types (mypy), thin entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENTRY_POINTS = ["lambda/orchestrator/handler.py", "lambda/sync/handler.py", "ecs/entrypoint.py"]


def _run(tool: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool)], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layering_contracts_are_kept():
    result = _run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_package_type_checks():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _package_imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return {m for m in modules if m.split(".")[0] == "homebrew_sync"}


def test_handlers_and_the_task_entrypoint_import_only_the_aws_runtime():
    for entry in ENTRY_POINTS:
        imports = _package_imports(ROOT / entry)
        assert imports, f"{entry} imports nothing from the package"
        outside = sorted(m for m in imports if not m.startswith("homebrew_sync.aws."))
        assert not outside, f"{entry} imports {outside}; handlers use homebrew_sync.aws only"


def test_no_source_file_is_over_600_lines():
    sources = [p for d in ("shared", "fakes", "scripts", "lambda", "ecs", "tests") for p in (ROOT / d).rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in sources if (n := len(p.read_text().splitlines())) > 600}
    assert not long, f"split these by what they do: {long}"
