"""The AMI client against the peer: login by the banner and ActionID, a wrong secret, a dropped connection."""

from __future__ import annotations

import asyncio

import pytest

from adapters.asterisk.ami import AmiClient, AmiUnavailable, parse_ami_url
from tests.asterisk_peer import FakeAmi


async def _wait(predicate, seconds: float = 6.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def test_the_client_logs_in_and_logs_in_again_after_the_switch_drops_it() -> None:
    async def main() -> None:
        peer = FakeAmi()
        port = await peer.start()
        client = AmiClient(parse_ami_url(f"ami://ringledger:s3cret@127.0.0.1:{port}"), reconnect_seconds=1)
        await client.start()
        assert client.connected
        for writer in peer.writers:  # Asterisk restarts: the connection drops
            writer.close()
        peer.writers.clear()
        assert await _wait(lambda: not client.connected)
        with pytest.raises(AmiUnavailable):  # an action meanwhile is refused at once, never queued forever
            await client.action({"Action": "Hangup", "Channel": "PJSIP/x-1", "Cause": "16"})
        assert await _wait(lambda: client.connected)
        reply = await client.action({"Action": "Hangup", "Channel": "PJSIP/x-1", "Cause": "16"})
        assert reply["message"] == "Channel Hungup"
        assert [a["Channel"] for a in peer.sent("Hangup")] == [["PJSIP/x-1"]]
        client.close()
        await peer.stop()

    asyncio.run(main())


def test_a_wrong_secret_leaves_the_client_logged_out() -> None:
    async def main() -> None:
        peer = FakeAmi(secret="right")
        port = await peer.start()
        client = AmiClient(parse_ami_url(f"ami://ringledger:wrong@127.0.0.1:{port}"))
        await client.start(wait=0.5)
        assert not client.connected
        with pytest.raises(AmiUnavailable):
            await client.action({"Action": "Setvar", "Channel": "PJSIP/x-1", "Variable": "TIMEOUT(absolute)",
                                 "Value": "60"})
        assert peer.actions == []
        client.close()
        await peer.stop()

    asyncio.run(main())


@pytest.mark.parametrize("url", ["tcp://a:b@h:5038", "ami://h:5038", "ami://@h"])
def test_an_ami_url_without_user_or_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_ami_url(url)
