"""Bearer-token authentication of switches.

Tokens are configured as `RINGLEDGER_SWITCH_TOKENS=name=sha256hex,…`: only
the SHA-256 of each token is stored or configured, never the token. A
request's token is hashed and looked up; the switch's name becomes the actor
of what it does.
"""

from __future__ import annotations

import hashlib
import secrets
import sys

from fastapi import Request

from adapters.http.errors import Unauthorized


def bearer_token(header: str | None) -> str | None:
    """`Authorization: Bearer <token>` → token."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


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

    def switch_of(self, header: str | None) -> str:
        """The switch named by an `Authorization: Bearer <token>` header; `Unauthorized` otherwise.

        One dict look-up of the token's SHA-256: what is compared is a hash
        of the secret, never the secret, so the look-up leaks nothing usable.
        """
        token = bearer_token(header)
        if token is None:
            raise Unauthorized("a switch bearer token is required")
        name = self.hashes.get(token_hash(token))
        if name is None:
            raise Unauthorized("unknown switch token")
        return name

    async def __call__(self, request: Request) -> str:
        """As a FastAPI dependency."""
        return self.switch_of(request.headers.get("authorization"))
