"""Idempotency records: a caller-supplied operation id and the answer it got.

The record's id is derived from the operation id and saved in the same
transaction as the operation's effects, so a retried or racing duplicate
collides and then reads the first answer instead of acting twice.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import IdempotencyConflict
from ledger.ids import operation_id


class Operation(Aggregate):
    class Performed(Aggregate.Created):
        key: str
        request: str
        result: dict[str, Any]

    def __init__(self, key: str, request: str, result: dict[str, Any]) -> None:
        self.key = key
        self.request = request
        self.result = result

    @classmethod
    def record(cls, key: str, request: str, result: dict[str, Any]) -> Operation:
        return cls._create(cls.Performed, id=operation_id(key), key=key, request=request, result=result)

    def answer_for(self, request: str) -> dict[str, Any]:
        if request != self.request:
            raise IdempotencyConflict(
                f"operation id {self.key!r} was already used for a different request"
            )
        return self.result
