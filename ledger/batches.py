"""Card batches (卡库): a named issue of N cards of one kind and face value."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from ledger.ids import batch_id

CARD_KINDS = ("callback", "voucher")


class CardBatch(Aggregate):
    class Issued(Aggregate.Created):
        name: str
        kind: str
        face: int
        count: int
        plan: str | None
        actor: str

    def __init__(self, name: str, kind: str, face: int, count: int, plan: str | None, actor: str) -> None:
        self.name = name
        self.kind = kind
        self.face = face
        self.count = count
        self.plan = plan

    @classmethod
    def issue(cls, name: str, kind: str, face: int, count: int, plan: str | None, actor: str) -> CardBatch:
        return cls._create(
            cls.Issued, id=batch_id(name), name=name, kind=kind, face=face, count=count, plan=plan, actor=actor
        )
