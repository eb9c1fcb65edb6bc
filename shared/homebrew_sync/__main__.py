"""`python -m homebrew_sync` is the `homebrew-sync` command."""

import sys

from homebrew_sync.cli.main import main

sys.exit(main())
