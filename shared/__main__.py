"""`python -m shared` is the `homebrew-sync` command."""

import sys

from shared.cli import main

sys.exit(main())
