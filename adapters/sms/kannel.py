"""Kannel: texts out through smsbox's `sendsms`, with a `dlr-url` back to us; texts in through a `get-url`.

Wire (Kannel 1.4.5): `GET /cgi-bin/sendsms?username&password&from&to&text&charset&coding&smsc&dlr-mask
&dlr-url` answers `202 0: Accepted for delivery` or `202 3: Queued for later delivery`, 4xx/503 when
it refuses. The `dlr-url` we give carries our message id and `%d` (the DLR value); Kannel calls it
for each report the mask asks for. Inbound texts come from an `sms-service` whose `get-url` names
`%p` (sender), `%P` (receiver) and `%a` (the text): see `adapters.http.sms_gateway`.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.sms.fanout import Fanout
from services.ports import DeliveryReport, Text

#: Reports asked for: delivered, undelivered, queued on the SMSC, accepted by it, rejected by it.
DLR_MASK = 1 | 2 | 4 | 8 | 16
ACCEPTED = ("0:", "3:")


class KannelRefused(Exception):
    """sendsms did not accept the text (its status and first line are the message)."""


class KannelGateway(Fanout):
    name = "kannel"

    def __init__(self, sendsms_url: str, username: str, password: str, *, sender: str, dlr_url: str,
                 smsc: str = "", timeout: float = 5.0) -> None:
        """`dlr_url` is where Kannel reports to, e.g. `http://ledger:8000/v1/sms/dlr?token=T`
        (`ref` and `status` are added)."""
        super().__init__()
        self.sendsms_url = sendsms_url
        self.username = username
        self.password = password
        self.sender = sender
        self.dlr_url = dlr_url
        self.smsc = smsc
        self._client = httpx.Client(timeout=timeout)
        self._lock = threading.Lock()
        self._last: dict[str, Any] = {"up": None, "error": None, "at": None}

    def _report_url(self, reference: str) -> str:
        joiner = "&" if "?" in self.dlr_url else "?"
        # `%d` must reach Kannel unescaped: it replaces it with the DLR value.
        return f"{self.dlr_url}{joiner}{urlencode({'ref': reference})}&status=%d"

    def send_tracked(self, recipient: str, body: str, reference: str) -> str:
        params = {"username": self.username, "password": self.password, "from": self.sender, "to": recipient,
                  "text": body, "charset": "UTF-8", "coding": "2" if not body.isascii() else "0",
                  "dlr-mask": str(DLR_MASK), "dlr-url": self._report_url(reference)}
        if self.smsc:
            params["smsc"] = self.smsc
        try:
            answer = self._client.get(self.sendsms_url, params=params)
        except httpx.HTTPError as err:  # its text never names the URL: the query holds the password
            self._note(False, f"sendsms unreachable: {type(err).__name__}")
            raise KannelRefused(f"sendsms unreachable: {type(err).__name__}") from None
        first = answer.text.strip().splitlines()[0] if answer.text.strip() else ""
        if answer.status_code != 202 or not first.startswith(ACCEPTED):
            # A 5xx, or a refusal of our credentials, refuses every text; any other refusal is this text's.
            self._note(answer.status_code < 500 and answer.status_code not in (401, 403),
                       f"sendsms {answer.status_code}: {first[:100]}")
            raise KannelRefused(f"sendsms answered {answer.status_code}: {first[:100]}")
        self._note(True, None)
        return reference

    def send(self, recipient: str, body: str) -> str:
        import uuid

        return self.send_tracked(recipient, body, "k-" + uuid.uuid4().hex)

    def receive(self, sender: str, body: str, recipient: str | None = None) -> None:
        """A text Kannel fetched our get-url for."""
        self.text(Text(sender, recipient or self.sender, body))

    def delivery(self, reference: str, mask: int) -> None:
        """A report Kannel called our dlr-url for."""
        self.report(DeliveryReport(reference=reference, gateway_id=None, mask=mask))

    def _note(self, up: bool, error: str | None) -> None:
        with self._lock:
            self._last = {"up": up, "error": error, "at": time.time()}

    def health(self) -> dict[str, object]:
        """Up unless the last sendsms could not reach Kannel, or it answered 5xx or refused our credentials
        (up before the first)."""
        with self._lock:
            last = dict(self._last)
        return {"gateway": self.name, "up": last["up"] is not False, "last_error": last["error"]}

    def close(self) -> None:
        self._client.close()
