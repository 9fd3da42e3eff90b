"""The `ringledger` command. Bad input exits 2 with one line and changes nothing."""

from __future__ import annotations

import typer

from ringledger.cli_accounts import accounts, books
from ringledger.cli_audit import audit
from ringledger.cli_calls import calls
from ringledger.cli_cards import cards, vouchers
from ringledger.cli_keys import keys
from ringledger.cli_reports import reports
from ringledger.cli_tariffs import tariffs

app = typer.Typer(
    name="ringledger",
    help="Event-sourced prepaid billing ledger for telephone value-added services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cards, name="cards")
app.add_typer(vouchers, name="vouchers")
app.add_typer(accounts, name="accounts")
app.add_typer(books, name="ledger")
app.add_typer(keys, name="keys")
app.add_typer(audit, name="audit")
app.add_typer(reports, name="reports")
app.add_typer(calls, name="calls")
app.add_typer(tariffs, name="tariffs")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Listen address (localhost by default)."),
    port: int = typer.Option(8080, help="Listen port."),
    demo: bool = typer.Option(False, help="Load the demo tariff and account if the store is empty."),
) -> None:
    """Serve the switch hooks, the GraphQL portal and the scheduler."""
    import uvicorn

    from ringledger.container import build
    from ringledger.hooks_app import tune_gc
    from ringledger.server import create_app

    container = build()
    if demo:
        from ringledger.demo import load_demo

        load_demo(container)
    app = create_app(container)
    tune_gc()
    uvicorn.run(app, host=host, port=port, log_level="info")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
