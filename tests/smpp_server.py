"""An SMSC for the SMPP tests: smppy's server (asyncio) in a process of its own.

`python -m tests.smpp_server PORT` listens on 127.0.0.1:PORT and writes one
JSON line per thing it sees on stdout: `bound`, `submit` (with the message
id it gave), `enquire_link`, `deliver_sm_resp`. After each submit_sm it
sends a delivery receipt (esm_class 0x04, receipted_message_id, stat
DELIVRD). It reads commands on stdin: `mo FROM TO TEXT` sends a deliver_sm
(a handset's text); `drop` cuts the bound connection (no unbind).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import threading
from typing import Any

from smpp.pdu.operations import DeliverSM, SubmitSM, SubmitSMResp
from smpp.pdu.pdu_types import (
    DataCoding,
    DataCodingDefault,
    EsmClass,
    EsmClassMode,
    EsmClassType,
    MessageState,
    PriorityFlag,
    RegisteredDelivery,
    RegisteredDeliveryReceipt,
    ReplaceIfPresentFlag,
)
from smppy.server import Application, SmppClient, SmppProtocol

ids = itertools.count(1001)
issued: list[str] = []


def say(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _resp(sequence_number: int) -> SubmitSMResp:
    """submit_sm_resp with a message id (smppy's own leaves it out)."""
    issued.append(f"M{next(ids)}")
    return SubmitSMResp(sequence_number=sequence_number, message_id=issued[-1])


SubmitSM.require_ack = staticmethod(_resp)  # type: ignore[assignment]


async def _enquire(self: SmppProtocol, request: Any) -> None:
    say(event="enquire_link")


DELIVER_SM_RESP = 0x80000005
STATUS_NAMES = {0x00: "ESME_ROK", 0x64: "ESME_RX_T_APPN"}


async def _deliver_resp(self: SmppProtocol, request: Any) -> None:
    pass  # reported from the raw PDU: smppy's parsed response loses its command_status


def _data_received(self: SmppProtocol, data: bytes) -> None:
    """One PDU at a time, however TCP cuts them (smppy's own reads only the first PDU of each chunk)."""
    buffer = getattr(self, "_buffer", b"") + data
    while len(buffer) >= 4 and len(buffer) >= int.from_bytes(buffer[:4], "big"):
        size = int.from_bytes(buffer[:4], "big")
        if int.from_bytes(buffer[4:8], "big") == DELIVER_SM_RESP:
            status = int.from_bytes(buffer[8:12], "big")
            say(event="deliver_sm_resp", status=STATUS_NAMES.get(status, hex(status)))
        asyncio.ensure_future(self.handle_data_received(buffer[:size]))
        buffer = buffer[size:]
    self._buffer = buffer  # type: ignore[attr-defined]


SmppProtocol.data_received = _data_received  # type: ignore[method-assign]
SmppProtocol.on_enquire_link = _enquire  # type: ignore[method-assign]
SmppProtocol.on_deliver_sm_resp = _deliver_resp  # type: ignore[method-assign]


class Smsc(Application):
    def __init__(self) -> None:
        super().__init__("test-smsc")
        self.client: SmppClient | None = None

    async def handle_bound_client(self, client: SmppClient) -> SmppClient:
        self.client = client
        say(event="bound", system_id=client.system_id, password_ok=client.password == "secret")
        return client if client.password == "secret" else None  # type: ignore[return-value]

    async def handle_unbound_client(self, client: SmppClient) -> None:
        say(event="unbound")

    async def handle_sms_received(self, client: SmppClient, source_number: str, dest_number: str,
                                  text: str) -> None:
        message_id = issued[-1]
        say(event="submit", id=message_id, source=source_number, dest=dest_number, text=text)
        receipt = (f"id:{message_id} sub:001 dlvrd:001 submit date:2701010000 done date:2701010000 "
                   "stat:DELIVRD err:000 text:").encode()
        protocol = client._protocol
        protocol._send_requests([DeliverSM(
            sequence_number=protocol.next_sequence_number(), service_type=None,
            source_addr_ton=client.addr_ton, source_addr_npi=client.addr_npi, source_addr=dest_number,
            dest_addr_ton=client.addr_ton, dest_addr_npi=client.addr_npi, destination_addr=source_number,
            esm_class=EsmClass(EsmClassMode.DEFAULT, EsmClassType.SMSC_DELIVERY_RECEIPT), protocol_id=None,
            priority_flag=PriorityFlag.LEVEL_0,
            registered_delivery=RegisteredDelivery(RegisteredDeliveryReceipt.NO_SMSC_DELIVERY_RECEIPT_REQUESTED),
            replace_if_present_flag=ReplaceIfPresentFlag.DO_NOT_REPLACE,
            data_coding=DataCoding(scheme_data=DataCodingDefault.SMSC_DEFAULT_ALPHABET), short_message=receipt,
            receipted_message_id=message_id, message_state=MessageState.DELIVERED)])


def main() -> None:
    port = int(sys.argv[1])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = Smsc()
    server = app.create_server(loop=loop, host="127.0.0.1", port=port)

    def command(line: str) -> None:
        words = line.split(" ", 3)
        client = app.client
        if client is None or not client._protocol.is_bound:
            say(event="error", reason="not bound")
        elif words[0] == "mo":
            loop.create_task(client.send_sms(words[1], words[2], words[3]))
        elif words[0] == "drop":
            client._protocol._transport.abort()
            say(event="dropped")

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(command, line.rstrip("\n"))
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=read_stdin, daemon=True).start()
    say(event="listening", port=port)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
