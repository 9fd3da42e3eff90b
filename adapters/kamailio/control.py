"""`CallControl` through Kamailio's JSON-RPC over HTTP (`jsonrpcs` behind `xhttp`, see `kamailio.cfg`).

A cut finds the call's dialog by its SIP Call-ID (`dlg.dlg_list`) and ends
it (`dlg.end_dlg`): Kamailio sends BYE to both legs, with the reason in an
`X-Ringledger-Reason` header, and reports the end to the ledger as for any
other BYE. The cut runs on a thread of its own: the ledger's answer to a
hook never waits for the switch, and Kamailio, whose workers may be waiting
for that answer, is never waited for while one of them is.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import httpx
import structlog

log = structlog.get_logger("ringledger.kamailio")


class KamailioRpcError(Exception):
    """Kamailio answered a JSON-RPC request with an error."""


class KamailioCallControl:
    def __init__(self, rpc_url: str, *, timeout: float = 2.0) -> None:
        self.rpc_url = rpc_url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def cut(self, call_id: str, reason: str) -> None:
        threading.Thread(target=self.cut_now, args=(call_id, reason), name="kamailio-cut", daemon=True).start()

    def cut_now(self, call_id: str, reason: str) -> bool:
        """End the call's dialog now; False (and a log line) when Kamailio has no such dialog or cannot be asked."""
        try:
            dialogs = self.dialogs(call_id)
            if not dialogs:
                log.warning("kamailio_cut_no_dialog", call_id=call_id, reason=reason)
                return False
            for h_entry, h_id in dialogs:
                self.rpc("dlg.end_dlg", h_entry, h_id, f"X-Ringledger-Reason: {reason}\r\n")
            log.info("kamailio_cut", call_id=call_id, reason=reason)
            return True
        except (httpx.HTTPError, KamailioRpcError, ValueError) as err:
            log.error("kamailio_cut_failed", call_id=call_id, reason=reason, error=str(err))
            return False

    def dialogs(self, call_id: str) -> list[tuple[int, int]]:
        """The (h_entry, h_id) of each dialog Kamailio holds for this Call-ID."""
        found = self.rpc("dlg.dlg_list", call_id)
        items = found if isinstance(found, list) else [found] if found else []
        return [(int(d["h_entry"]), int(d["h_id"])) for d in items if d.get("call-id") == call_id]

    def rpc(self, method: str, *params: Any) -> Any:
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(self._ids)}
        answer = httpx.post(self.rpc_url, json=request, timeout=self.timeout)
        answer.raise_for_status()
        body = answer.json()
        if "error" in body:
            raise KamailioRpcError(f"{method}: {body['error']}")
        return body.get("result")
