"""Sending the owners' low-deposit alerts through the SMS gateway.

Choice: the alert is an event saved in the same transaction as the charge
that crossed the threshold (`services.phonebar.permits.note_charge`), so it
is never lost; a leader-only scheduler job sends the alerts not yet marked
sent and marks each one `AlertSent` with the gateway's message id. A mark
refuses a second send of the same alert, so two runs never send it twice;
only a crash between the gateway's acceptance and the mark (one commit) can
send it again on the next run — an owner may get a warning twice, never zero times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger.application import Ledger
from ledger.phonebars import PhoneBar, phonebar_id
from ledger.unit_of_work import UnitOfWork
from projections import phonebar_reads as reads
from projections.db import ViewDB
from services.ports import SmsGateway


class AlertSender:
    ledger: Ledger
    views: ViewDB
    fresh: Callable[[], None]
    clock: Callable[[], datetime]
    sms: SmsGateway
    #: Why the last run could not send some alerts (they stay unsent for the next run).
    failures: list[str]

    def send_alerts(self) -> list[dict[str, Any]]:
        """Send every recorded alert not yet sent; returns what was sent.

        A send the gateway fails leaves that alert unsent (noted in `failures`) and the run goes on.
        """
        self.fresh()
        self.failures = []
        sent = []
        for alert in reads.alerts(self.views, unsent=True):
            self.ledger.fresh()
            bar = UnitOfWork(self.ledger).find(phonebar_id(alert["bar"]), PhoneBar)
            if bar is None or alert["alert"] not in bar.unsent:
                continue  # marked by another run since the view was read
            try:
                message_id = self.sms.send(alert["phone"], alert["body"])
            except Exception as err:  # the gateway refused or is away: the alert stays unsent for the next run
                self.failures.append(f"{alert['bar']}#{alert['alert']}: {type(err).__name__}: {err}"[:300])
                continue

            def mark(uow: UnitOfWork, number: int = alert["alert"], mid: str = message_id) -> dict[str, Any]:
                found = uow.find(phonebar_id(alert["bar"]), PhoneBar)
                assert found is not None
                found.mark_sent(number, mid, self.clock())
                return {"bar": found.bar, "alert": number, "message_id": mid}

            sent.append(self.ledger.execute(mark))
        return sent
