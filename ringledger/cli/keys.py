"""`ringledger keys …`: API keys for the portal and the switch hooks."""

from __future__ import annotations

from typing import Annotated

import typer

from ringledger.cli.common import actor, container, emit, fail
from services.api_keys import create_key, revoke_key

keys = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@keys.command("create")
def create(
    role: Annotated[str, typer.Option(help="operator, auditor, bar_owner, switch or business")],
    bar: Annotated[str | None, typer.Option(help="The phone bar's account number (bar_owner keys only).")] = None,
    business: Annotated[str | None, typer.Option(help="The forwarded number in E.164 (business keys only).")] = None,
    label: Annotated[str, typer.Option(help="Who or what holds the key.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key. The token is printed once; only its SHA-256 digest is recorded."""
    with container() as c:
        if bar is not None and business is not None:
            fail("a key names --bar or --business, not both")
        token, principal = create_key(c.ledger, role, actor(), bar=bar or business, label=label)
    out = {"key_id": principal.key_id, "role": role, "bar": bar, "token": token}
    emit({**out, "business": business} if business is not None else out, as_json)


@keys.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key with its role, bar and whether it is revoked (never the token)."""
    with container() as c:
        c.catch_up()
        rows = c.views.query("SELECT key_id, role, bar, label, created_at, revoked_at FROM api_keys ORDER BY created_at")
    emit([dict(zip(("key_id", "role", "bar", "label", "created_at", "revoked_at"), r, strict=True)) for r in rows],
         as_json)


@keys.command("revoke")
def revoke(key_id: str, reason: Annotated[str, typer.Option(help="Why (recorded in the event).")] = "") -> None:
    """Revoke a key: it stops working at once, in every process."""
    with container() as c:
        emit(revoke_key(c.ledger, key_id, actor(), reason), False)
