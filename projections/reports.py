"""Report projections and the queries over them.

Revenue is kept per UTC hour, service and call category (from postings to
`house:revenue:*`), so the projection does not depend on any time zone and a
rebuild is identical whatever the settings; report days are formed at query
time in the operator's zone from whole hours (exact for every zone whose
offset is a whole number of hours, such as Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from projections.base import Item, Projection
from projections.db import ViewDB

REVENUE_PREFIX = "house:revenue:"


def hour_key(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H")


def local_day_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at `start` and local midnight after `end`."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time(0), zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    return lo, hi


class RevenueReport(Projection):
    name = "report_revenue"
    tables = ["report_revenue_hourly"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}report_revenue_hourly (hour TEXT NOT NULL, service TEXT NOT NULL,"
        " category TEXT NOT NULL, amount BIGINT NOT NULL, postings BIGINT NOT NULL,"
        " PRIMARY KEY (hour, service, category))"
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        sums: dict[tuple[str, str, str], list[int]] = {}
        for _, event in items:
            postings = getattr(event, "postings", None)
            if postings is None:
                continue
            for account, amount in postings():
                if account.startswith(REVENUE_PREFIX):
                    service, _, category = account[len(REVENUE_PREFIX):].partition(":")
                    entry = sums.setdefault((hour_key(event.timestamp), service, category), [0, 0])
                    entry[0] += amount
                    entry[1] += 1
        if sums:
            cur.executemany(
                self.q(
                    "INSERT INTO {p}report_revenue_hourly VALUES (?, ?, ?, ?, ?) ON CONFLICT (hour, service, category)"
                    " DO UPDATE SET amount = {p}report_revenue_hourly.amount + excluded.amount,"
                    " postings = {p}report_revenue_hourly.postings + excluded.postings"
                ),
                [(*k, v[0], v[1]) for k, v in sums.items()],
            )


def daily_revenue(db: ViewDB, tz: str, start: date, end: date) -> list[dict[str, Any]]:
    """Revenue per local day, service and category, for days start..end inclusive."""
    lo, hi = local_day_bounds(start, end, tz)
    rows = db.query(
        "SELECT hour, service, category, amount, postings FROM report_revenue_hourly"
        " WHERE hour >= ? AND hour < ? ORDER BY hour",
        (hour_key(lo), hour_key(hi)),
    )
    zone = ZoneInfo(tz)
    days: dict[tuple[str, str, str], list[int]] = {}
    for hour, service, category, amount, postings in rows:
        day = datetime.fromisoformat(hour + ":00:00+00:00").astimezone(zone).date().isoformat()
        entry = days.setdefault((day, service, category), [0, 0])
        entry[0] += int(amount)
        entry[1] += int(postings)
    return [
        {"day": d, "service": s, "category": c, "amount": v[0], "postings": v[1]}
        for (d, s, c), v in sorted(days.items())
    ]


def daily_card_sales(db: ViewDB, tz: str, start: date, end: date) -> list[dict[str, Any]]:
    """Cards sold per local day and batch, days start..end inclusive: face value, price paid, discount.

    Card sales are not revenue (the cash is owed back as credit until used), so
    they are reported beside it: `paid` is the cash taken, `discount` the face
    value given up (face = paid + discount).
    """
    lo, hi = local_day_bounds(start, end, tz)
    rows = db.query(
        "SELECT sold_at, batch, face, price FROM cards WHERE sold_at >= ? AND sold_at < ? ORDER BY sold_at",
        (lo.isoformat(), hi.isoformat()),
    )
    zone = ZoneInfo(tz)
    days: dict[tuple[str, str], list[int]] = {}
    for sold_at, batch, face, price in rows:
        day = datetime.fromisoformat(sold_at).astimezone(zone).date().isoformat()
        entry = days.setdefault((day, batch), [0, 0, 0])
        entry[0] += 1
        entry[1] += int(face)
        entry[2] += int(price)
    return [
        {"day": d, "batch": b, "cards": v[0], "face": v[1], "paid": v[2], "discount": v[1] - v[2]}
        for (d, b), v in sorted(days.items())
    ]


def card_inventory(db: ViewDB, batch: str | None = None) -> list[dict[str, Any]]:
    """Per batch: cards in stock (issued), sold, redeemed, cancelled, and value still outstanding.

    Outstanding is what the house still owes on the batch: the face of sold,
    unredeemed vouchers, or the balances left on sold callback cards. Paid is
    what buyers paid for every card ever sold from the batch, discount the face
    value given up on them (face x cards sold = paid + discount).
    """
    where, params = ("WHERE b.name = ?", (batch,)) if batch else ("", ())
    rows = db.query(
        "SELECT b.name, b.kind, b.face, b.count,"
        " COALESCE(SUM(CASE WHEN c.status = 'issued' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN c.status = 'sold' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN c.status = 'redeemed' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN c.status = 'cancelled' THEN 1 ELSE 0 END), 0),"
        " (SELECT COALESCE(SUM(a.balance), 0) FROM accounts a WHERE a.batch = b.name AND a.status <> 'closed'),"
        " COALESCE(SUM(c.price), 0), COALESCE(SUM(CASE WHEN c.price IS NULL THEN 0 ELSE c.face - c.price END), 0)"
        f" FROM card_batches b LEFT JOIN cards c ON c.batch = b.name {where}"
        " GROUP BY b.name, b.kind, b.face, b.count ORDER BY b.name",
        params,
    )
    out = []
    for name, kind, face, count, issued, sold, redeemed, cancelled, balances, paid, discount in rows:
        outstanding = int(sold) * int(face) if kind == "voucher" else int(balances)
        out.append({
            "batch": name, "kind": kind, "face": int(face), "count": int(count), "issued": int(issued),
            "sold": int(sold), "redeemed": int(redeemed), "cancelled": int(cancelled), "outstanding": outstanding,
            "paid": int(paid), "discount": int(discount),
        })
    return out


def low_balance_accounts(
    db: ViewDB, threshold: int, kind: str | None = None, number: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Active accounts whose available money (balance - holds) is below `threshold`, lowest first."""
    sql = ("SELECT number, kind, balance, held, balance - held FROM accounts"
           " WHERE status = 'active' AND balance - held < ?")
    params: list[Any] = [threshold]
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    if number:
        sql += " AND number = ?"
        params.append(number)
    sql += " ORDER BY balance - held, number LIMIT ?"
    params.append(limit)
    return [
        {"number": n, "kind": k, "balance": int(b), "held": int(h), "available": int(a)}
        for n, k, b, h, a in db.query(sql, params)
    ]


#: A call counts as answered when the switch reported the answer, or when it ended with billed
#: seconds (a switch may skip the answer report): talk time means someone answered.
ANSWERED = "(answered_at IS NOT NULL OR billsec > 0)"


def call_days(db: ViewDB, tz: str, start: date, end: date, bar: str | None = None) -> list[dict[str, Any]]:
    """Per local day: attempts, answered, ASR, ACD (s), minutes, cost, and for phone bars the
    retail amount (what walk-in customers pay) and the margin over cost of the calls priced at retail,
    from the CDR view.

    Rows are grouped by UTC hour in SQL (an index range on authorized_at) and
    folded into local days here.
    """
    lo, hi = local_day_bounds(start, end, tz)
    sql = ("SELECT substr(authorized_at, 1, 13), COUNT(*),"
           f" SUM(CASE WHEN {ANSWERED} THEN 1 ELSE 0 END),"
           f" COALESCE(SUM(CASE WHEN {ANSWERED} THEN billsec ELSE 0 END), 0), COALESCE(SUM(cost), 0),"
           " COALESCE(SUM(retail), 0), COALESCE(SUM(CASE WHEN retail IS NOT NULL THEN retail - cost ELSE 0 END), 0)"
           " FROM cdrs WHERE authorized_at >= ? AND authorized_at < ?")
    params: list[Any] = [lo.isoformat(), hi.isoformat()]
    if bar is not None:
        sql += " AND bar = ?"
        params.append(bar)
    zone = ZoneInfo(tz)
    days: dict[str, list[int]] = {}
    for hour, *sums in db.query(sql + " GROUP BY 1", params):
        day = datetime.fromisoformat(hour + ":00:00+00:00").astimezone(zone).date().isoformat()
        entry = days.setdefault(day, [0] * 6)
        for i, v in enumerate(sums):
            entry[i] += int(v)
    out = []
    for day, (attempts, answered, seconds, cost, retail, margin) in sorted(days.items()):
        out.append({
            "day": day, "attempts": attempts, "answered": answered,
            "asr": round(answered / attempts, 4) if attempts else 0.0,
            "acd": round(seconds / answered, 1) if answered else 0.0,
            "minutes": round(seconds / 60, 2), "cost": cost, "retail": retail, "margin": margin,
        })
    return out
