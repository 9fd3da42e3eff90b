"""One error formatter: every error carries a machine-readable `extensions.code`.

Ledger refusals keep their own code (`insufficient_funds`, `unknown_account`
…); a bad query is `invalid_query`; anything unexpected is `internal_error`
with its details kept out of the answer (and logged).
"""

from __future__ import annotations

from typing import Any

import structlog
from ariadne import format_error as ariadne_format_error

from graphql import GraphQLError
from ledger.errors import LedgerError
from ledger.money import MoneyFormatError
from services.store_errors import is_store_unavailable, unavailable

log = structlog.get_logger()


class Forbidden(LedgerError):
    """The calling key's role or bar does not allow this; nothing was read or changed."""

    code = "forbidden"


def _original(error: GraphQLError) -> BaseException | None:
    err: BaseException | None = error.original_error
    while isinstance(err, GraphQLError) and err.original_error is not None:
        err = err.original_error
    return err


def is_refusal(error: BaseException) -> bool:
    """A ledger refusal, bad money or a query error (not an unexpected fault)."""
    original = _original(error) if isinstance(error, GraphQLError) else error
    return original is None or isinstance(original, (LedgerError, MoneyFormatError, GraphQLError))


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    formatted = ariadne_format_error(error, debug)
    original = _original(error)
    if isinstance(original, LedgerError):
        code = original.code
    elif isinstance(original, MoneyFormatError):
        code = "invalid_money"
    elif original is None or isinstance(original, GraphQLError):
        code = "invalid_query"
    elif is_store_unavailable(original):
        log.warning("graphql_store_unavailable", error=repr(original), path=error.path)
        code = "unavailable"
        formatted["message"] = str(unavailable(original))
    else:
        log.error("graphql_internal_error", error=repr(original), path=error.path)
        code = "internal_error"
        formatted["message"] = "internal error"
    extensions = dict(formatted.get("extensions") or {}) if debug else {}
    extensions["code"] = code
    details = getattr(original, "details", None)
    if isinstance(original, LedgerError) and details:
        extensions.update(details)
    formatted["extensions"] = extensions
    return formatted
