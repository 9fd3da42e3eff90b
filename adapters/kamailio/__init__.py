"""Kamailio: the drop-in configuration (`kamailio.cfg`) and the cut of a call through its JSON-RPC."""
