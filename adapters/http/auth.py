"""Bearer-token authentication of switches.

Tokens are configured as `RINGLEDGER_SWITCH_TOKENS=name=sha256hex,…`: only
the SHA-256 of each token is stored or configured, never the token. A
request's token is hashed and looked up; the switch's name becomes the actor
of what it does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys

from fastapi import Request

from adapters.http.errors import Unauthorized


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh random token and its hash (the hash is what goes in the configuration)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def parse_tokens(config: str) -> dict[str, str]:
    """`name=hash,name2=hash2` → {hash: name}; a malformed entry raises ValueError."""
    hashes: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in config.split(","))):
        name, sep, digest = entry.partition("=")
        digest = digest.strip().lower()
        if not sep or not name.strip() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"switch token entry {entry.split('=')[0]!r} is not name=<sha256 hex>")
        hashes[digest] = name.strip()
    return hashes


class SwitchAuth:
    """A FastAPI dependency answering the authenticated switch's name."""

    def __init__(self, hashes: dict[str, str]) -> None:
        self.hashes = hashes

    @classmethod
    def from_config(cls, config: str, *, announce: bool = True) -> SwitchAuth:
        """With no tokens configured (a local dev server), make one for this run and print it once."""
        hashes = parse_tokens(config)
        if not hashes:
            token, digest = new_token()
            hashes = {digest: "dev"}
            if announce:
                sys.stderr.write(
                    "No RINGLEDGER_SWITCH_TOKENS configured: switch token for this run (switch 'dev'):\n"
                    f"  {token}\n"
                )
        return cls(hashes)

    async def __call__(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a switch bearer token is required")
        digest = token_hash(token.strip())
        for known, name in self.hashes.items():
            if hmac.compare_digest(known, digest):
                return name
        raise Unauthorized("unknown switch token")
