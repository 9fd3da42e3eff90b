"""The `ringledger` command line: one module per command group."""

from ringledger.cli.main import app, main

__all__ = ["app", "main"]
