"""The `ringledger` command. Bad input exits 2 with one line and changes nothing."""

from __future__ import annotations

import typer

from ringledger.cli_accounts import accounts, books
from ringledger.cli_cards import cards, vouchers

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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
