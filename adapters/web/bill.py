"""The walk-in customer's bill as a printable HTML page (one A5/receipt-width sheet, no script).

Every value is escaped; times are shown in the operator's time zone.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from ledger.money import format_money

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 42em; margin: 1em auto; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
table { border-collapse: collapse; width: 100%; margin-top: .8em; }
th, td { border-bottom: 1px solid #999; padding: .25em .4em; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; border-bottom: none; }
@media print { body { margin: 0; } }
"""


def _local(instant: str | None, zone: ZoneInfo) -> str:
    if not instant:
        return ""
    return datetime.fromisoformat(instant).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def render_bill(bill: dict[str, Any], timezone: str = "Asia/Shanghai", currency: str = "CNY") -> str:
    zone = ZoneInfo(timezone)
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(str(line['dialled']))}</td>"
        f"<td>{escape(str(line.get('destination') or ''))}</td>"
        f"<td>{escape(_local(line.get('answered_at') or line.get('authorized_at'), zone))}</td>"
        f"<td class=\"n\">{_duration(line['billsec'])}</td>"
        f"<td class=\"n\">{format_money(line['retail'])}</td>"
        "</tr>"
        for line in bill["lines"]
    )
    title = f"话吧账单 Phone bar bill {escape(str(bill['bar']))} / {escape(str(bill['booth']))} #{int(bill['bill'])}"
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>话吧 Bar <b>{escape(str(bill['bar']))}</b> · 话机 Booth <b>{escape(str(bill['booth']))}</b> ·
账单 Bill <b>{int(bill['bill'])}</b> · 结账时间 Checked out <b>{escape(_local(bill['checked_out_at'], zone))}</b></p>
<table>
<thead><tr><th>被叫号码 Number</th><th>目的地 Destination</th><th>开始 Start</th>
<th class="n">时长 Duration</th><th class="n">金额 Amount ({escape(currency)})</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><td colspan="3">合计 Total · {len(bill['lines'])} 次通话 calls</td><td></td>
<td class="n" id="total">{format_money(bill['retail_total'])}</td></tr></tfoot>
</table>
</body>
</html>
"""
