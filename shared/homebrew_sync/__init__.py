"""homebrew-bottles-sync: mirror the Homebrew bottles brew would install, verified, once."""

__version__ = "0.1.0"
