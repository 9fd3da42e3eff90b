"""The ledger domain: accounts, cards, vouchers, holds and double entry.

Nothing here does I/O of its own; persistence is the eventsourcing library's
event store, configured in the composition root (`ringledger`).
"""
