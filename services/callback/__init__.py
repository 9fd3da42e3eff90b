"""The callback service (回拨): cards bound to phones, calls placed back through the dialer, both legs billed.

`calls` places a callback, bridges it to the destination the subscriber
keyed and closes it; `cards` binds a card to a phone by its PIN and
recharges by voucher; `grants` is the arithmetic of one grant over two legs.
"""

from services.callback.calls import CallbackPolicy, Callbacks
from services.callback.cards import CallbackCards

__all__ = ["CallbackCards", "CallbackPolicy", "Callbacks"]
