"""FreeSWITCH: the outbound event-socket server (authorize at park), the inbound client (answers,
heartbeats, hangups in; cuts, hangup schedules, originates out) and the mod_json_cdr receiver.

The event socket is framed by hand in `esl` (see the README for why), and reports that the ledger
cannot take now are kept in the store-and-forward spool (`adapters.spool`).
"""
