"""The pieces of `scripts/bench.py`: processes and servers, baselines, measurements, report."""
