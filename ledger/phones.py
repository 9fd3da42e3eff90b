"""Phone number bindings: a number is bound to at most one account at a time.

One aggregate per phone number (id derived from the number); binding saves
this aggregate and the account together, so two racing binds of one number
collide on its version.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from ledger.errors import NumberAlreadyBound, NumberNotBound
from ledger.ids import phone_id


class PhoneBinding(Aggregate):
    class Registered(Aggregate.Created):
        phone: str

    def __init__(self, phone: str) -> None:
        self.phone = phone
        self.account: str | None = None  # account number

    @classmethod
    def register(cls, phone: str) -> PhoneBinding:
        return cls._create(cls.Registered, id=phone_id(phone), phone=phone)

    class Bound(Aggregate.Event):
        account: str
        actor: str

        def apply(self, binding: PhoneBinding) -> None:
            binding.account = self.account

    class Unbound(Aggregate.Event):
        account: str
        actor: str

        def apply(self, binding: PhoneBinding) -> None:
            binding.account = None

    def bind(self, account: str, actor: str) -> None:
        if self.account is not None and self.account != account:
            raise NumberAlreadyBound(f"{self.phone} is bound to account {self.account}")
        if self.account is None:
            self.trigger_event(self.Bound, account=account, actor=actor)

    def unbind(self, account: str | None, actor: str) -> None:
        if self.account is None or (account is not None and self.account != account):
            raise NumberNotBound(f"{self.phone} is not bound to {account or 'any account'}")
        self.trigger_event(self.Unbound, account=self.account, actor=actor)
