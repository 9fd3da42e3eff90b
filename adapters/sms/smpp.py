"""SMPP 3.4 as an ESME (smpplib): one transceiver bind, kept up by a thread of its own.

* out: `submit_sm` asking for a delivery receipt (`registered_delivery` 1);
  `send_tracked` waits for the bind (a dropped bind is re-established by the
  thread, so a text sent meanwhile goes out once it is back) and for the
  `submit_sm_resp`, whose `message_id` it returns;
* in: `deliver_sm` is a receipt (esm_class bit 0x04: reported as a DLR
  value) or a text (handed to the subscribed handlers). Each is handled on
  a worker thread and answered `deliver_sm_resp` when handled: ESME_ROK, or
  ESME_RX_T_APPN when the ledger could not take it, so the SMSC sends it again;
* `enquire_link` every `enquire_seconds` of silence; a link that does not
  answer, or any socket error, drops the bind and the thread binds again
  with a backoff (0.2 s doubling to 30 s).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
import structlog

from adapters.sms.fanout import Fanout
from ledger.errors import NotFound
from services.ports import DeliveryReport, Text

log = structlog.get_logger("ringledger.smpp")
RECEIPT = 0x04
#: Receipt states (`stat:` of the receipt text, or the message_state TLV) as Kannel's DLR values.
STATS = {"DELIVRD": 1, "UNDELIV": 2, "EXPIRED": 2, "DELETED": 2, "REJECTD": 16, "UNKNOWN": 2,
         "ACCEPTD": 8, "ENROUTE": 4}
STATES = {2: 1, 3: 2, 4: 2, 5: 2, 6: 8, 7: 2, 8: 16, 1: 4}
RECEIPT_ID = re.compile(r"\bid:(\S+)")
RECEIPT_STAT = re.compile(r"\bstat:(\w+)")


class SmppUnavailable(Exception):
    """Not bound: the text was not handed over (it is retried later)."""


class SmppNoAnswer(Exception):
    """The submit_sm went out but no answer came: the SMSC may have the text, so it is not sent again."""

    maybe_sent = True


class _Client(smpplib.client.Client):
    """smpplib's client whose deliver_sm is answered once our handler is done (on another thread)."""

    def __init__(self, *args: Any, on_deliver: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write = threading.Lock()
        self._on_deliver = on_deliver
        #: When the SMSC last sent anything (an enquire_link_resp included).
        self.heard = time.monotonic()

    def send_pdu(self, p: Any) -> bool:
        with self._write:
            return bool(super().send_pdu(p))

    def read_pdu(self) -> Any:
        pdu = super().read_pdu()
        self.heard = time.monotonic()
        return pdu

    def _message_received(self, pdu: Any) -> None:
        self._on_deliver(self, pdu)

    def answer(self, pdu: Any, status: int) -> None:
        resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self, status=status)
        resp.sequence = pdu.sequence
        try:
            self.send_pdu(resp)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            pass  # the bind dropped meanwhile: the SMSC sends it again


class SmppGateway(Fanout):
    name = "smpp"

    def __init__(self, host: str, port: int, system_id: str, password: str, *, sender: str,
                 system_type: str = "", enquire_seconds: float = 30.0, send_timeout: float = 10.0) -> None:
        super().__init__()
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.sender = sender
        self.enquire_seconds = enquire_seconds
        self.send_timeout = send_timeout
        self._client: _Client | None = None
        self._bound = threading.Event()
        self._stopping = threading.Event()
        self._pending: dict[int, tuple[Future[str], str]] = {}
        #: SMSC message id -> our reference, set when the submit_sm_resp is read (before any later receipt).
        self._references: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smpp-in")
        self._thread: threading.Thread | None = None
        self.binds = 0
        self.last_error: str | None = None

    # --- the bind ---------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="smpp-bind", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            try:
                client.unbind()
            except Exception:  # already gone
                pass
            self._drop(client)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._workers.shutdown(wait=False)

    def _run(self) -> None:
        wait = 0.2
        while not self._stopping.is_set():
            client = _Client(self.host, self.port, timeout=self.enquire_seconds, allow_unknown_opt_params=True,
                             on_deliver=self._deliver)
            client.set_message_sent_handler(self._submitted)
            client.set_error_pdu_handler(self._error_pdu)
            try:
                client.connect()
                client.bind_transceiver(system_id=self.system_id, password=self.password,
                                        system_type=self.system_type)
            except Exception as err:
                self._note(err)
                self._drop(client)
                self._stopping.wait(wait)
                wait = min(wait * 2, 30.0)
                continue
            self._client, wait = client, 0.2
            self.binds += 1
            self.last_error = None
            self._bound.set()
            log.info("smpp_bound", host=self.host, port=self.port, binds=self.binds)
            try:
                client.heard = time.monotonic()
                while not self._stopping.is_set():
                    client.read_once(auto_send_enquire_link=True)  # a silent link is probed with enquire_link
                    if client.state not in (c.SMPP_CLIENT_STATE_BOUND_TRX,):
                        raise smpplib.exceptions.ConnectionError("unbound by the SMSC")
                    if time.monotonic() - client.heard > 2.5 * self.enquire_seconds:
                        raise smpplib.exceptions.ConnectionError("the SMSC did not answer enquire_link")
            except Exception as err:
                if not self._stopping.is_set():
                    self._note(err)
                    log.warning("smpp_bind_lost", error=self.last_error)
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        self._bound.clear()
        if self._client is client:
            self._client = None
        with self._lock:
            pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(SmppNoAnswer("the bind dropped before the SMSC answered"))
        try:
            client.disconnect()
        except Exception:  # already closed
            pass

    def _note(self, err: BaseException) -> None:
        self.last_error = f"{type(err).__name__}: {err}"[:200]

    # --- out ----------------------------------------------------------------------------

    def send_tracked(self, recipient: str, body: str, reference: str) -> str:
        """One submit_sm per part (a long text is split with a UDH, as smpplib's `make_parts` does);
        returns the SMSC's id of the first part (a receipt for any part is reported under `reference`)."""
        if not self._bound.wait(self.send_timeout):
            raise SmppUnavailable(f"not bound to {self.host}:{self.port} ({self.last_error})")
        client = self._client
        if client is None:
            raise SmppUnavailable("the bind dropped")
        parts, coding, esm_class = smpplib.gsm.make_parts(body)
        futures: list[tuple[int, Future[str]]] = []
        try:
            for part in parts:
                with self._lock:  # the sequence is known before the answer can arrive
                    pdu = smpplib.smpp.make_pdu(
                        "submit_sm", client=client, source_addr_ton=c.SMPP_TON_UNK if self.sender.isdigit()
                        else c.SMPP_TON_ALNUM, source_addr=self.sender, dest_addr_ton=c.SMPP_TON_INTL,
                        dest_addr_npi=c.SMPP_NPI_ISDN, destination_addr=recipient.lstrip("+"), short_message=part,
                        data_coding=coding, esm_class=esm_class, registered_delivery=True)
                    future: Future[str] = Future()
                    self._pending[pdu.sequence] = (future, reference)
                    futures.append((pdu.sequence, future))
                client.send_pdu(pdu)
        except (smpplib.exceptions.ConnectionError, OSError) as err:
            self._forget(futures)
            if len(futures) > 1:  # a part went out: the handset may see it, so the text is not sent again
                raise SmppNoAnswer(f"the bind dropped after part {len(futures) - 1} of {len(parts)}") from None
            raise SmppUnavailable(f"the bind dropped: {err}") from None
        ids = []
        for _, future in futures:
            try:
                ids.append(future.result(self.send_timeout))
            except TimeoutError:
                self._forget(futures)
                raise SmppNoAnswer(f"no submit_sm_resp within {self.send_timeout} s") from None
            except Exception as err:
                self._forget(futures)
                if ids:  # an earlier part was accepted: the text is not sent again
                    raise SmppNoAnswer(f"part {len(ids) + 1} of {len(parts)} failed: {err}") from None
                raise
        return ids[0]

    def _forget(self, futures: list[tuple[int, Future[str]]]) -> None:
        with self._lock:
            for sequence, _ in futures:
                self._pending.pop(sequence, None)

    def send(self, recipient: str, body: str) -> str:
        return self.send_tracked(recipient, body, "")

    def _submitted(self, pdu: Any, **_: Any) -> None:
        with self._lock:
            pending = self._pending.pop(pdu.sequence, None)
            if pending is None:
                return
            future, reference = pending
            message_id = _text(pdu.message_id) or f"seq-{pdu.sequence}"
            if reference:
                self._references[message_id] = reference
                while len(self._references) > 10_000:
                    self._references.popitem(last=False)
        if not future.done():
            future.set_result(message_id)

    def _error_pdu(self, pdu: Any) -> None:
        with self._lock:
            future, _ = self._pending.pop(pdu.sequence, (None, ""))
        if future is not None and not future.done():
            future.set_exception(SmppRefused(f"{pdu.command} status {pdu.status}: "
                                             f"{c.DESCRIPTIONS.get(pdu.status, 'unknown')}"))

    # --- in -----------------------------------------------------------------------------

    def _deliver(self, client: _Client, pdu: Any) -> None:
        self._workers.submit(self._handle, client, pdu)

    def _handle(self, client: _Client, pdu: Any) -> None:
        status = c.SMPP_ESME_ROK
        try:
            if int(pdu.esm_class or 0) & RECEIPT:
                self._receipt(pdu)
            else:
                self.text(Text(_text(pdu.source_addr), _text(pdu.destination_addr) or self.sender, _body(pdu)))
        except Exception as err:
            if isinstance(err, NotFound):
                log.warning("smpp_receipt_unknown", error=str(err))  # not ours: the SMSC need not send it again
            else:
                log.warning("smpp_deliver_failed", error=type(err).__name__)
                status = c.SMPP_ESME_RX_T_APPN
        client.answer(pdu, status)

    def _receipt(self, pdu: Any) -> None:
        text = _body(pdu)
        gateway_id = _text(getattr(pdu, "receipted_message_id", None)) or _match(RECEIPT_ID, text)
        state = getattr(pdu, "message_state", None)
        mask = STATES.get(int(state)) if state else STATS.get(_match(RECEIPT_STAT, text) or "", None)
        if not gateway_id or mask is None:
            log.warning("smpp_receipt_unreadable")
            return
        with self._lock:
            reference = self._references.pop(gateway_id, None)
        self.report(DeliveryReport(reference=reference, gateway_id=gateway_id, mask=mask))

    def health(self) -> dict[str, object]:
        return {"gateway": self.name, "up": self._bound.is_set(), "binds": self.binds, "last_error": self.last_error}


class SmppRefused(Exception):
    """The SMSC answered the submit_sm with an error status."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _body(pdu: Any) -> str:
    raw = pdu.short_message or b""
    if int(pdu.data_coding or 0) == c.SMPP_ENCODING_ISO10646:
        return bytes(raw).decode("utf-16-be", errors="replace")
    return bytes(raw).decode("latin-1") if isinstance(raw, (bytes, bytearray)) else str(raw)


def _match(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found else None
