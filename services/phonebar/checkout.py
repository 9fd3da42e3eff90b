"""Checkout of a booth: the walk-in customer's bill, recorded so that no call is on two bills.

Guarantees: a bill holds every finished call of the booth not on an earlier
bill (those still in progress refuse the checkout: `booth_busy`); a call is
on at most one bill, also when two checkouts of one booth race (they collide
on the booth's version and the second runs again on the first's bill).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger.application import Ledger
from ledger.booths import BoothBusy, check_booth_name
from ledger.unit_of_work import UnitOfWork
from projections import phonebar_reads as reads
from projections.cdrs import iso
from projections.db import ViewDB


class CheckoutCommands:
    ledger: Ledger
    views: ViewDB
    fresh: Callable[[], None]
    clock: Callable[[], datetime]

    def checkout(self, bar: str, booth: str, actor: str, op_id: str | None = None) -> dict[str, Any]:
        """With `op_id`, a repeat (a client that lost the answer) gets the same bill back, not `nothing_to_bill`."""
        check_booth_name(booth)
        op = self.ledger._op(op_id, "checkout", bar, booth)
        self.fresh()  # every call ended so far is in the CDR view

        def command(uow: UnitOfWork) -> dict[str, Any]:
            self._bar(uow, bar)  # type: ignore[attr-defined]
            found = self._booth(uow, bar, booth)  # type: ignore[attr-defined]
            if any(c["booth"] == booth for c in reads.open_calls(self.views, bar)):
                raise BoothBusy(f"booth {booth} of bar {bar} has a call in progress; check out after it ends")
            lines = [_line(c) for c in reads.unbilled_calls(self.views, bar, booth, found.bill_window_start())
                     if c["call_id"] not in found.billed]
            found.check_out(lines, self.clock(), actor)
            return {"bar": bar, "booth": booth, "bill": found.bills, "checked_out_at": iso(found.last_checkout),
                    "lines": lines, "retail_total": sum(x["retail"] for x in lines),
                    "cost_total": sum(x["cost"] for x in lines)}

        return self.ledger.execute(command, op)

    def bill(self, bar: str, booth: str, number: int) -> dict[str, Any] | None:
        self.fresh()
        return reads.bill(self.views, bar, booth, number)

    def bills(self, bar: str, booth: str | None = None) -> list[dict[str, Any]]:
        self.fresh()
        return reads.bills(self.views, bar, booth)


def _line(call: dict[str, Any]) -> dict[str, Any]:
    """One bill line; a call the bar's retail tariff did not price is billed at its cost."""
    retail = call["retail"]
    return {"call_id": call["call_id"], "dialled": call["callee"], "destination": call["destination_name"],
            "category": call["category"], "authorized_at": call["authorized_at"], "answered_at": call["answered_at"],
            "ended_at": call["ended_at"], "billsec": int(call["billsec"]), "cost": int(call["cost"]),
            "retail": int(retail) if retail is not None else int(call["cost"]), "retail_priced": retail is not None}
