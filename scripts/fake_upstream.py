#!/usr/bin/env python3
"""Run the local fake upstream (see fakes/__main__.py); works without installing the repo."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
