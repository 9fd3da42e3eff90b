"""Conferences (多方通话): booked through the portal or started by phone, fired by the scheduler.

`service` holds the use cases; the legs it places are ordinary calls that the
switch authorizes with `service=conference`, charged to the initiator's account.
"""

from services.conferences.service import Conferences

__all__ = ["Conferences"]
