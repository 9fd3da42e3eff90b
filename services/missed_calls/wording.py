"""The texts of missed-call notification, worded as the operator's brochure gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

NOTICE = "您好，用户{caller}于{month}月{day}日{hour}时呼叫您{count}次，请回电！"
REACHABLE = "您好，用户{callee}已可达，请及时联系。"


def shown(e164: str) -> str:
    """A number as a Chinese subscriber dials it (13800138000, 01062345678); a foreign one stays E.164."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    if parsed.country_code != 86:
        return e164
    return "".join(c for c in phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
                   if c.isdigit())


def notice_text(caller: str, first_at: datetime, count: int, tz: str, advert: str | None) -> str:
    local = first_at.astimezone(ZoneInfo(tz))
    text = NOTICE.format(caller=shown(caller), month=local.month, day=local.day, hour=local.hour, count=count)
    return text + (advert or "")


def reachable_text(callee: str, advert: str | None) -> str:
    return REACHABLE.format(callee=shown(callee)) + (advert or "")


def history_text(calls: list[dict[str, Any]], tz: str) -> str:
    """The history on request as one SMS: the latest windows first."""
    if not calls:
        return "您没有未接来电记录。"
    parts = []
    for c in calls:
        local = datetime.fromisoformat(c["first_at"]).astimezone(ZoneInfo(tz))
        parts.append(f"{shown(c['caller'])} {local.month}月{local.day}日{local.hour}时 {c['count']}次")
    return f"您有{len(calls)}条未接来电：" + "；".join(parts) + "。"
