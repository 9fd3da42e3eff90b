"""The phone-bar service as one object the edges hold (its parts are in the sibling modules)."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application import Ledger
from projections.db import ViewDB
from services.charging import Charging
from services.phonebar.alerts import AlertSender
from services.phonebar.board import BoardReads
from services.phonebar.booths import BoothsCommands
from services.phonebar.checkout import CheckoutCommands
from services.ports import SmsGateway


class PhoneBars(BoothsCommands, BoardReads, CheckoutCommands, AlertSender):
    """Booths, permissions, board, checkout and alerts over one ledger and its views.

    `fresh` brings the aggregate cache and the views up to the store (the
    container's `fresh`); prices and the clock are the charging engine's.
    """

    def __init__(self, ledger: Ledger, views: ViewDB, charging: Charging, fresh: Callable[[], None],
                 sms: SmsGateway) -> None:
        self.ledger, self.views, self.fresh, self.sms = ledger, views, fresh, sms
        self.clock = charging.clock
        self.plan = charging.plan
        self.normalise = charging.normalise
        self.failures = []
