"""The SMS command language: what a subscriber may text to the access number, and the replies.

One table, `COMMANDS`: a command is its name, its default command words, its
arguments and the service call it makes. Adding a command is one entry there
(and its reply texts in `REPLIES`). The command words an operator uses are
configurable (`parse_words`); a word may name its reply language (`CX/zh`,
`BAL/en`), otherwise replies are in the configured language.

A text is words separated by spaces (or `#`, `*`, `,`, full-width space):
the command word (any case) and its arguments, e.g. `BD 1234567890 123456`.

Guarantees: every text gets exactly one reply, to its sender; a text that
is not a command, has the wrong arguments or malformed ones gets a reply
saying how to write it and changes nothing; no reply repeats a PIN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from ledger.errors import AccountNotFound, InvalidPin, InvalidRequest, LedgerError, NotFound
from ledger.money import format_money
from services.callback.cards import CallbackCards
from services.missed_calls.wording import shown
from services.ports import SmsGateway, Text

log = structlog.get_logger("ringledger.sms")
LANGUAGES = ("zh", "en")
SEPARATORS = re.compile(r"[\s#*,，\u3000]+")


@dataclass(frozen=True)
class SmsCommand:
    name: str
    #: Default command words; `WORD/en` replies in English, `WORD/zh` in Chinese.
    words: tuple[str, ...]
    #: Names of the arguments, in order (shown in the usage reply).
    args: tuple[str, ...]
    #: (service, sender's number, arguments, actor) -> (reply key, values for the reply).
    run: Callable[[Any, str, list[str], str], tuple[str, dict[str, Any]]]
    #: The attribute of `SmsCommands` holding the service `run` is given.
    service: str = "cards"


def _bind(cards: CallbackCards, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = cards.bind(args[0], args[1], sender, actor)
    return ("bound" if done["bound"] else done["reason"]), done


def _balance(cards: CallbackCards, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    try:
        return "balance", cards.balance(sender)
    except NotFound:
        return "number_not_bound", {}


def _recharge(cards: CallbackCards, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = cards.recharge(args[0], args[1], sender, actor)
    return ("recharged" if done["recharged"] else done["reason"]), done


# --- missed-call notification (来电提醒): history, reachable-again request, owner's PIN, blacklist ---------


def _missed(run: Callable[[Any, str, list[str], str], tuple[str, dict[str, Any]]]) -> Callable[
        [Any, str, list[str], str], tuple[str, dict[str, Any]]]:
    """A missed-call command: a malformed number or an unbound sender is a reply, not a failure."""

    def guarded(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
        try:
            return run(missed, sender, args, actor)
        except InvalidPin:
            raise
        except InvalidRequest:
            return "bad_number", {}
        except AccountNotFound:
            return "number_not_bound", {}

    return guarded


@_missed
def _missed_history(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = missed.history(sender, actor)
    return ("missed_history" if done["shown"] else done["reason"]), {**done, "fee": missed.history_fee}


def _reachable_answer(done: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("reachable_requested" if done["accepted"] else done["reason"]), {
        **done, "callee": shown(done["callee"]), "notify": shown(done["notify"])}


@_missed
def _missed_reachable(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    return _reachable_answer(missed.request_reachable(None, sender, args[0], None, actor))


@_missed
def _missed_reachable_to(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    return _reachable_answer(missed.request_reachable(None, sender, args[0], args[1], actor))


@_missed
def _missed_pin_set(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = missed.change_pin(sender, args[0], None, actor)
    return ("missed_pin_set" if done["changed"] else "missed_pin_needs_old"), done


@_missed
def _missed_pin_change(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = missed.change_pin(sender, args[1], args[0], actor)
    return ("missed_pin_set" if done["changed"] else done["reason"]), done


@_missed
def _missed_block(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = missed.block(sender, args[0], actor)
    return "missed_blocked", {**done, "caller": shown(done["caller"])}


@_missed
def _missed_unblock(missed: Any, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
    done = missed.block(sender, args[0], actor, blocked=False)
    return "missed_unblocked", {**done, "caller": shown(done["caller"])}


MISSED_CALL_COMMANDS: tuple[SmsCommand, ...] = (
    SmsCommand("missed_history", ("LD", "来话点播", "MISSED/en"), (), _missed_history, "missed_calls"),
    SmsCommand("missed_reachable", ("KD", "可达提醒", "NOTIFY/en"), ("number",), _missed_reachable, "missed_calls"),
    SmsCommand("missed_reachable_to", ("KDT", "NOTIFYTO/en"), ("number", "notify"), _missed_reachable_to,
               "missed_calls"),
    SmsCommand("missed_pin_set", ("SZMM", "SETPIN/en"), ("new_pin",), _missed_pin_set, "missed_calls"),
    SmsCommand("missed_pin_change", ("XGMM", "NEWPIN/en"), ("pin", "new_pin"), _missed_pin_change, "missed_calls"),
    SmsCommand("missed_block", ("HMD", "BLOCK/en"), ("number",), _missed_block, "missed_calls"),
    SmsCommand("missed_unblock", ("QXHMD", "UNBLOCK/en"), ("number",), _missed_unblock, "missed_calls"),
)
MISSED_CALL_ARG_NAMES = {"number": ("对方号码", "<number>"), "notify": ("通知号码", "<number to notify>"),
                         "new_pin": ("新密码", "<new PIN>")}
MISSED_CALL_REPLIES: dict[str, tuple[str, str]] = {
    "missed_history": ("{text}（本次信息费{fee}元，余额{balance}元）", "{text} (fee {fee}, balance {balance})"),
    "insufficient_funds": ("余额不足，请先充值。", "Not enough money: please recharge first."),
    "reachable_requested": ("已登记：{callee}可达时将短信通知{notify}，每条信息费{fee}元。",
                            "Noted: {notify} will be told by SMS when {callee} is reachable ({fee} per SMS)."),
    "missed_pin_set": ("来电提醒密码已设置。", "Your missed-call PIN is set."),
    "missed_pin_needs_old": ("已设置过密码，请发送“XGMM 原密码 新密码”修改。",
                             "A PIN is already set: text NEWPIN <PIN> <new PIN> to change it."),
    "missed_blocked": ("已将{caller}加入黑名单，其来电不再提醒。", "{caller} is blacklisted: no notices of their calls."),
    "missed_unblocked": ("已将{caller}移出黑名单。", "{caller} is off the blacklist."),
    "bad_number": ("号码有误，请核对后重发。", "That is not a phone number: please check it."),
}
MISSED_CALL_HELP = {"missed_history": ("来话点播", "missed calls"), "missed_reachable": ("可达提醒", "notify me"),
                    "missed_reachable_to": ("可达提醒他人", "notify another"),
                    "missed_pin_set": ("设置密码", "set PIN"), "missed_pin_change": ("修改密码", "change PIN"),
                    "missed_block": ("黑名单", "blacklist"), "missed_unblock": ("移出黑名单", "unblacklist")}

# --- end of missed-call notification -------------------------------------------------------------------


# --- Missed-call subscriptions by SMS (来话提示 off/out of area, 遇忙提示 busy): on and off ------------------
#: The monthly fee of each missed-call subscription taken by SMS (2.00), and the zone its months run in
#: (the composition root sets it to the operator's zone).
MISSED_CALL_FEE = 2_0000
FEE_ZONE = "Asia/Shanghai"
MISSED_CALL_SERVICES = {"missed_call_off": ("来话提示", "Missed-call alerts"),
                        "missed_call_busy": ("遇忙提示", "Busy-call alerts")}


def _subscriptions(cards: CallbackCards) -> Any:
    from services.subscriptions import Subscriptions

    return Subscriptions(cards.ledger, None, cards.charging.clock, FEE_ZONE, cards.ledger.fresh)


def _subscription(service: str, on: bool) -> Callable[[CallbackCards, str, list[str], str], tuple[str, dict[str, Any]]]:
    """Subscribe (or cancel) the sender's bound account to `service`; the first month is charged at once."""

    def run(cards: CallbackCards, sender: str, args: list[str], actor: str) -> tuple[str, dict[str, Any]]:
        from ledger.subscriptions import SubscriptionClosed, SubscriptionExists, SubscriptionNotFound

        try:
            account = cards.balance(sender)["account"]
        except NotFound:
            return "number_not_bound", {}
        names = {"service_zh": MISSED_CALL_SERVICES[service][0], "service_en": MISSED_CALL_SERVICES[service][1],
                 "fee": format_money(MISSED_CALL_FEE)}
        try:
            if not on:
                _subscriptions(cards).cancel(account, service, actor, "by SMS")
                return "unsubscribed", names
            done = _subscriptions(cards).subscribe(account, service, MISSED_CALL_FEE, actor)
        except SubscriptionExists:
            return "already_subscribed", names
        except (SubscriptionNotFound, SubscriptionClosed):
            return "not_subscribed", names
        return ("subscribed" if done["outcome"] == "charged" else "subscribed_unpaid"), {**done, **names}

    return run


SUBSCRIPTION_COMMANDS: tuple[SmsCommand, ...] = (
    SmsCommand("missed_call_on", ("KTLD", "开通来话提示", "ALERTS/en"), (), _subscription("missed_call_off", True)),
    SmsCommand("missed_call_off", ("QXLD", "取消来话提示", "ALERTSOFF/en"), (), _subscription("missed_call_off", False)),
    SmsCommand("busy_call_on", ("KTYM", "开通遇忙提示", "BUSY/en"), (), _subscription("missed_call_busy", True)),
    SmsCommand("busy_call_off", ("QXYM", "取消遇忙提示", "BUSYOFF/en"), (), _subscription("missed_call_busy", False)),
)
SUBSCRIPTION_REPLIES: dict[str, tuple[str, str]] = {
    "subscribed": ("{service_zh}已开通，月费{fee}元，本月已扣，余额{balance}元。",
                   "{service_en} on: {fee} a month, this month paid. Balance {balance}."),
    "subscribed_unpaid": ("{service_zh}已开通，余额不足，本月月费{fee}元待缴，充值后自动扣费。",
                          "{service_en} on, but the balance cannot pay this month's {fee}: "
                          "it is charged after a top-up."),
    "unsubscribed": ("{service_zh}已取消，下月起不再扣费。", "{service_en} off: no fee from next month."),
    "already_subscribed": ("您已办理过{service_zh}，请联系客服。",
                           "{service_en} was already taken: please call customer service."),
    "not_subscribed": ("您未开通{service_zh}。", "{service_en} is not on."),
}
SUBSCRIPTION_LABELS = {"missed_call_on": ("开通来话提示", "alerts on"), "missed_call_off": ("取消来话提示", "alerts off"),
                       "busy_call_on": ("开通遇忙提示", "busy alerts on"), "busy_call_off": ("取消遇忙提示", "busy alerts off")}
#: Left out of the help in the "unknown command" reply, which must stay one text long.
HELP_OMITS = frozenset(c.name for c in SUBSCRIPTION_COMMANDS)
# --- end of missed-call subscriptions ---------------------------------------------------------------------


COMMANDS: tuple[SmsCommand, ...] = (
    SmsCommand("bind", ("BD", "绑定", "BIND/en"), ("card", "pin"), _bind),
    SmsCommand("balance", ("CX", "YE", "查询", "余额", "BAL/en", "BALANCE/en"), (), _balance),
    SmsCommand("recharge", ("CZ", "充值", "TOPUP/en", "RECHARGE/en"), ("voucher", "pin"), _recharge),
    *MISSED_CALL_COMMANDS,
    *SUBSCRIPTION_COMMANDS,
)

ARG_NAMES = {"card": ("卡号", "<card>"), "pin": ("密码", "<PIN>"), "voucher": ("充值卡号", "<voucher>"),
             **MISSED_CALL_ARG_NAMES}

REPLIES: dict[str, tuple[str, str]] = {  # key -> (zh, en)
    "bound": ("绑定成功：卡{card}已绑定本机号码{phone}，余额{balance}元。",
              "Card {card} is now bound to {phone}. Balance {balance}."),
    "balance": ("您的账户{account}余额为{balance}元。", "Account {account}: balance {balance}."),
    "recharged": ("充值成功：{amount}元已充入账户{account}，余额{balance}元。",
                  "Recharged {amount} into account {account}. Balance {balance}."),
    "wrong_pin": ("密码错误，还可尝试{tries_left}次。", "Wrong PIN: {tries_left} tries left."),
    "pin_locked": ("密码错误次数过多，该卡已锁定，请联系客服。",
                   "Too many wrong PINs: the card is locked. Please call customer service."),
    "unknown_card": ("卡号不存在，请核对后重发。", "No such card: please check the number."),
    "unknown_account": ("卡号不存在，请核对后重发。", "No such card: please check the number."),
    "number_already_bound": ("本机号码已绑定其他卡，请先解除绑定。",
                             "This number is bound to another card: unbind it first."),
    "number_not_bound": ("本机号码未绑定卡，请先发送“{bind_word} 卡号 密码”绑定。",
                         "This number has no card: text {bind_word} <card> <PIN> first."),
    "account_not_active": ("该卡尚未启用或已停用，请联系客服。", "This card is not in use: please call customer service."),
    "account_closed": ("该卡已注销。", "This card is closed."),
    "card_not_active": ("该充值卡尚未售出，不能充值。", "This voucher has not been sold yet."),
    "card_cancelled": ("该卡已作废。", "This card was cancelled."),
    "voucher_already_redeemed": ("该充值卡已使用。", "This voucher has already been used."),
    "usage": ("格式错误：{problem}。请发送“{usage}”。", "Not understood: {problem}. Please text {usage}."),
    "unknown": ("无法识别的指令。{help}", "Unknown command. {help}"),
    "failed": ("系统繁忙，请稍后再试。", "The service is busy: please try again later."),
    **MISSED_CALL_REPLIES,
    **SUBSCRIPTION_REPLIES,
}
HELP_LABELS = {"bind": ("绑定", "bind"), "balance": ("查询余额", "balance"), "recharge": ("充值", "recharge"),
               **MISSED_CALL_HELP, **SUBSCRIPTION_LABELS}


def parse_words(spec: str) -> dict[str, tuple[str, ...]]:
    """`bind=BD|BIND/en; balance=CX` → {"bind": ("BD", "BIND/en"), "balance": ("CX",)} (overrides the defaults).

    Raises ValueError for a command that does not exist or a word used twice.
    """
    known = {c.name for c in COMMANDS}
    chosen: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, _, words = part.partition("=")
        name = name.strip()
        if name not in known:
            raise ValueError(f"no SMS command {name!r} (commands: {', '.join(sorted(known))})")
        chosen[name] = tuple(w.strip() for w in words.split("|") if w.strip())
        if not chosen[name]:
            raise ValueError(f"SMS command {name} needs at least one word")
    command_table(chosen, "zh")
    return chosen


def command_table(words: Mapping[str, tuple[str, ...]], language: str) -> dict[str, tuple[SmsCommand, str]]:
    """Each command word (upper case) → its command and reply language; a word naming two commands is refused."""
    table: dict[str, tuple[SmsCommand, str]] = {}
    for command in COMMANDS:
        for spec in words.get(command.name, command.words):
            word, _, lang = spec.partition("/")
            lang = lang or language
            if lang not in LANGUAGES or not word or SEPARATORS.search(word):
                raise ValueError(f"SMS word {spec!r}: one word, optionally /zh or /en")
            if word.upper() in table:
                raise ValueError(f"SMS word {word!r} names two commands")
            table[word.upper()] = (command, lang)
    return table


class SmsCommands:
    """Reads each text the gateway receives, runs its command and texts the reply back."""

    def __init__(self, gateway: SmsGateway, cards: CallbackCards, *, language: str = "zh",
                 words: Mapping[str, tuple[str, ...]] | None = None, missed_calls: Any = None) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"SMS language must be one of {', '.join(LANGUAGES)}")
        self.gateway = gateway
        self.cards = cards
        self.missed_calls = missed_calls
        self.language = language
        self.table = command_table(words or {}, language)
        self.first_word: dict[tuple[str, str], str] = {}
        for spec in (s for c in COMMANDS for s in (words or {}).get(c.name, c.words)):
            word, _, lang = spec.partition("/")
            command, lang = self.table[word.upper()]
            self.first_word.setdefault((command.name, lang), word)

    def handle(self, text: Text) -> str | None:
        """A received text: run it and send the reply; returns the reply's message id (None: no sender)."""
        try:
            sender = self.cards.charging.normalise(text.sender)
        except InvalidRequest:
            log.warning("sms_from_no_number", chars=len(text.body))
            return None
        reply = self.reply(sender, text.body)
        return self.gateway.send(sender, reply)

    def reply(self, sender: str, body: str) -> str:
        """The reply to `body` from `sender` (an E.164 number), after running its command."""
        words = [w for w in SEPARATORS.split(body.strip()) if w]
        found = self.table.get(words[0].upper()) if words else None
        if found is None:
            return self._say("unknown", self.language, help=self._help(self.language))
        command, lang = found
        if getattr(self, command.service) is None:  # a service this process does not offer
            return self._say("unknown", self.language, help=self._help(self.language))
        args = words[1:]
        if len(args) != len(command.args):
            problem = (f"需要{len(command.args)}项内容" if lang == "zh" else
                       f"{len(command.args)} item(s) expected after {words[0]}")
            return self._usage(command, lang, problem)
        try:
            key, values = command.run(getattr(self, command.service), sender, args, f"sms:{sender}")
        except InvalidPin:
            return self._usage(command, lang, "密码应为6到10位数字" if lang == "zh" else "a PIN is 6 to 10 digits")
        except InvalidRequest:
            return self._usage(command, lang, "卡号有误" if lang == "zh" else "that is not a card number")
        except LedgerError as err:
            log.warning("sms_command_failed", command=command.name, code=err.code)
            return self._say("failed", lang)
        return self._say(key, lang, **values)

    def _usage(self, command: SmsCommand, lang: str, problem: str) -> str:
        return self._say("usage", lang, problem=problem, usage=self._form(command, lang))

    def _form(self, command: SmsCommand, lang: str) -> str:
        word = self.first_word.get((command.name, lang)) or next(
            w for (n, _), w in self.first_word.items() if n == command.name)
        return " ".join([word, *(ARG_NAMES[a][0 if lang == "zh" else 1] for a in command.args)])

    def _help(self, lang: str) -> str:
        # The missed-call menu is in its own help; the subscription words would make the reply two texts.
        names = tuple(c for c in COMMANDS if c.service == "cards" and c.name not in HELP_OMITS)
        sep = "；" if lang == "zh" else "; "
        return sep.join(f"{HELP_LABELS.get(c.name, (c.name, c.name))[0 if lang == 'zh' else 1]}: "
                        f"{self._form(c, lang)}" for c in names)

    def _say(self, key: str, lang: str, **values: Any) -> str:
        template = REPLIES.get(key, REPLIES["failed"])[0 if lang == "zh" else 1]
        shown = {k: format_money(v) if k in ("balance", "amount", "fee") and isinstance(v, int) else v
                 for k, v in values.items()}
        bind_command = COMMANDS[0]
        shown.setdefault("bind_word", self._form(bind_command, lang).split(" ")[0])
        return template.format_map(_Missing(shown))


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
