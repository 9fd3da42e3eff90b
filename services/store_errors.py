"""Which failures mean "the store is not answering" rather than "this request is wrong".

The answer is a 503 `unavailable` at every edge (hooks, portal, CLI), never
a 500: a switch fails closed on it and retries with the same call id.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import InterfaceError, OperationalError

from ledger.errors import StoreUnavailable
from projections.db import is_connection_lost


def is_store_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, StoreIntegrityError):
        return False
    if isinstance(exc, (OperationalError, InterfaceError, sqlite3.OperationalError, TimeoutError)):
        return True
    return is_connection_lost(exc)


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The refusal for a store failure under way: the connection may have gone after the commit."""
    return StoreUnavailable(
        "the ledger store stopped answering; the outcome is unknown: "
        "retry with the same id to learn it (a repeat changes nothing)"
    )
