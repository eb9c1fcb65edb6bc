"""`scripts/bench.py --quick` end to end, so the benchmark cannot rot: every figure is measured and
written, and the hand-written analysis of the report survives a new run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_writes_every_figure_and_keeps_the_analysis(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text("# old\n\n## Analysis (written by hand)\n\nThe local path is fine.\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.with_suffix(".json").read_text())
    assert "errors" not in figures
    assert [f["target"] for f in figures["throughput"]] == ["local", "s3"]
    for figure in figures["throughput"]:
        assert figure["blobs"] > 0 and figure["pairs"] and figure["ratio_median"] > 0
    assert [m["target"] for m in figures["memory"]] == ["local", "s3"]
    assert all(m["peak_rss"] > 0 for m in figures["memory"])
    for backend in ("local", "s3"):
        before, after = figures["state"][backend]["before"], figures["state"][backend]["after"]
        assert after["written_bytes"] < before["written_bytes"] and after["read_bytes"] < before["read_bytes"]
    assert figures["routing"]["runs"]["early"] and figures["routing"]["runs"]["full"]
    text = out.read_text()
    assert "| sync into S3 / put_object baseline | >= 0.8 |" in text
    assert text.count("## Analysis (written by hand)") == 1
    assert text.endswith("The local path is fine.\n") and "# old" not in text
    assert (tmp_path / "benchmarks-ratios.png").stat().st_size > 0
