"""Composition root: configuration, the ledger and its views, the CLI and the server."""
