"""Missed-call notification (来电提醒): notices to the callee, reachable-again notices, the owner's menu."""

from services.missed_calls.service import HISTORY_FEE, REACHABLE_FEE, MissedCalls

__all__ = ["HISTORY_FEE", "REACHABLE_FEE", "MissedCalls"]
