"""Callback calls: the access call refused and called back, the destination bridged, the call closed.

Guarantees:

* idempotent per call id of the access call: a retried request returns the
  first answer and places nothing again (leg A is handed to the dialer once,
  after the request is committed); the same id with another body is refused
  with `duplicate_call`;
* both legs are call sessions on the card's account (`<id>-a`, `<id>-b`),
  authorized together in one transaction when the destination is keyed: the
  bridged time granted is the longest both legs' costs together fit in the
  available balance (`services.callback.grants`), so leg A's minutes are held
  as surely as leg B's;
* a destination that cannot be called (no rate, blacklisted, not enough money)
  is answered `bridged: false` with its reason and changes nothing: the
  subscriber may key another;
* a callback is closed once: `Ended` with both legs' charges and the balance to
  announce, or `Failed` when none was bridged (leg A's time is then charged on
  its own, as far as the balance pays for it).
"""

from __future__ import annotations

from services.callback.base import CallbackPolicy, NotCallable
from services.callback.bridging import Bridging
from services.callback.ending import Ending
from services.callback.placing import Placing


class Callbacks(Placing, Bridging, Ending):
    """The callback calls over one charging engine and one dialer: place, bridge, end."""


__all__ = ["CallbackPolicy", "Callbacks", "NotCallable"]
