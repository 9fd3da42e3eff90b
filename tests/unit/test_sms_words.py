"""The SMS command table: configurable words, reply language by word or setting, bad settings refused."""

from __future__ import annotations

import pytest

from ringledger.config import Settings
from services.fakes import RecordingSmsGateway
from services.sms_commands import COMMANDS, SmsCommands, parse_words


class NoCards:
    """Commands that reach a service are not exercised here."""

    charging = None


def commands(**kwargs) -> SmsCommands:
    return SmsCommands(RecordingSmsGateway(), NoCards(), **kwargs)  # type: ignore[arg-type]


def test_an_operator_renames_one_command_and_the_others_keep_their_words() -> None:
    sms = commands(words=parse_words("bind=KH|OPEN/en"))
    assert sms.reply("+8613900139000", "kh 123") == "格式错误：需要2项内容。请发送“KH 卡号 密码”。"
    assert sms.reply("+8613900139000", "open") == (
        "Not understood: 2 item(s) expected after open. Please text OPEN <card> <PIN>.")
    assert sms.reply("+8613900139000", "BD 1 2").startswith("无法识别的指令。绑定: KH 卡号 密码")


def test_replies_follow_the_language_setting_unless_the_word_names_its_own() -> None:
    english = commands(language="en")
    assert english.reply("+8613900139000", "hello") == (
        "Unknown command. bind: BD <card> <PIN>; balance: CX; recharge: CZ <voucher> <PIN>")
    assert english.reply("+8613900139000", "BD 1").startswith("Not understood")
    chinese = commands(words=parse_words("balance=CX|BAL/en"))
    assert chinese.reply("+8613900139000", "BD 1").startswith("格式错误")
    assert chinese.reply("+8613900139000", "BAL 1").startswith("Not understood")


def test_every_command_has_a_word_and_separators_may_be_hash_or_full_width_space() -> None:
    assert all(c.words for c in COMMANDS)
    sms = commands()
    assert sms.reply("+8613900139000", "BD#1") == sms.reply("+8613900139000", "BD\u30001")


@pytest.mark.parametrize("spec", ["call=HJ", "bind=", "bind=BD; balance=BD"])
def test_a_bad_word_setting_is_refused_at_start(spec: str) -> None:
    with pytest.raises(ValueError):
        Settings(sms_words=spec)
