"""The `ringledger` command. Bad input exits 2 with one line and changes nothing."""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # recent typer carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer on top of the click package
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from ringledger.cli.accounts import accounts, books
from ringledger.cli.audit import audit
from ringledger.cli.bars import bars
from ringledger.cli.calls import calls
from ringledger.cli.cards import cards, vouchers
from ringledger.cli.forward import forward
from ringledger.cli.keys import keys
from ringledger.cli.reports import reports
from ringledger.cli.subscriptions import subscriptions
from ringledger.cli.tariffs import tariffs

_NEGATIVE = re.compile(r"No such option: -\d")


class OneLineErrors(TyperGroup):
    """Every usage error is one `error:` line on stderr with exit code 2, as for any other bad input."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as err:  # a bare group: its help, as before
            if err.ctx is not None:
                sys.stdout.write(err.ctx.get_help() + "\n")
            rv = 2
        except ClickException as err:
            message = " ".join(err.format_message().split())
            if _NEGATIVE.match(message):
                message += " (a negative amount goes after --, e.g. ... -- -5.00)"
            sys.stderr.write(f"error: {message}\n")
            rv = 2 if isinstance(err, UsageError) else err.exit_code
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            rv = 1
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
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
app.add_typer(bars, name="bars")
app.add_typer(subscriptions, name="subscriptions")
app.add_typer(forward, name="forward")


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

    from ringledger.cli.common import fail
    from ringledger.config import settings_error

    try:
        container = build()
    except ValueError as err:  # a malformed setting: one line, never the value (it may hold a password)
        fail(f"configuration: {settings_error(err)}")
        raise
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
