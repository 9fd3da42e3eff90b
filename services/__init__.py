"""The use cases: the one layer every edge calls.

HTTP hooks, GraphQL resolvers, the CLI and the scheduler (and the switch and
SMS adapters to come) call a service here; a service loads aggregates through
a unit of work (`ledger`), prices with `rating`, and reads the views
(`projections`). It never imports an edge (`adapters`) or the composition
root (`ringledger`): whatever it needs from the outside comes in as a plain
value or as one of the ports in `services.ports`.
"""
