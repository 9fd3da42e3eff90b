"""Recurring fees (monthly rent, leases): subscribe, cancel, and charge what is due, once per period."""

from services.subscriptions.service import Subscriptions

__all__ = ["Subscriptions"]
