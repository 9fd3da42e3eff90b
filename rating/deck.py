"""Rate decks: tariff rows as CSV, the way operators exchange them.

Columns (header row required, in any order, no others)::

    prefix,category,name,price_per_minute,first_increment,next_increment,
    connect_fee,minimum_charge,peak_price,offpeak_price,offpeak_start,offpeak_end

* exactly one of ``prefix`` (E.164 digits, no ``+``) and ``category``;
* money columns are decimal strings with at most 4 decimals (``"0.1500"``);
  ``connect_fee`` and ``minimum_charge`` may be empty (= 0);
* ``offpeak_price``/``offpeak_start``/``offpeak_end`` (HH:MM local time) go
  together and make a daily ``offpeak`` band that may cross midnight;
  ``peak_price`` needs that window and makes a daily ``peak`` band over the
  rest of the day. ``price_per_minute`` applies where no band does.

Guarantees: `parse_deck` returns every row or none — it raises `DeckError`
listing *all* bad lines by their line number in the file; and
``parse_deck(export_deck(rows)) == rows`` for any rows a deck can express.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import TextIO

from rating.numberplan import CATEGORIES
from rating.tariffs import ALL_DAYS, RateRow, TimeBand, hhmm_to_minute

COLUMNS: tuple[str, ...] = (
    "prefix",
    "category",
    "name",
    "price_per_minute",
    "first_increment",
    "next_increment",
    "connect_fee",
    "minimum_charge",
    "peak_price",
    "offpeak_price",
    "offpeak_start",
    "offpeak_end",
)
SCALE = 10_000
_MONEY = re.compile(r"([0-9]{1,11})(?:\.([0-9]+))?")
_SECONDS = re.compile(r"[0-9]{1,5}")


class DeckError(ValueError):
    """A deck with bad lines; ``problems`` lists ``(line_number, message)`` for each."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems: list[tuple[int, str]] = list(problems)
        lines = "; ".join(f"line {n}: {m}" for n, m in self.problems)
        super().__init__(
            f"rate deck rejected, nothing imported ({len(self.problems)} problems): {lines}"
        )


def parse_money(text: str) -> int:
    """``"0.15"`` → 1500 ten-thousandths. Non-negative, at most 4 decimals, no exponent."""
    match = _MONEY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an amount like 0.1500")
    units, frac = match.group(1), match.group(2) or ""
    if len(frac) > 4:
        raise ValueError(f"{text!r} has more than 4 decimals")
    return int(units) * SCALE + int(frac.ljust(4, "0"))


def format_money(amount: int) -> str:
    """1500 → ``"0.1500"``: always four decimals."""
    units, frac = divmod(amount, SCALE)
    return f"{units}.{frac:04d}"


def parse_deck(source: str | TextIO) -> list[RateRow]:
    """All rows of a CSV deck, or `DeckError` naming every bad line (nothing is returned)."""
    text = source if isinstance(source, str) else source.read()
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DeckError([(1, "the deck is empty: a header row is required")])
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing columns {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown columns {', '.join(unknown)}")
        if len(set(header)) != len(header):
            parts.append("a column appears twice")
        raise DeckError([(1, "bad header: " + "; ".join(parts))])

    rows: list[RateRow] = []
    problems: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    start = reader.line_num + 1
    for record in reader:
        line = start
        start = reader.line_num + 1
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append((line, f"expected {len(header)} fields, found {len(record)}"))
            continue
        cells = {name: value.strip() for name, value in zip(header, record)}
        try:
            row = _row(cells)
        except (ValueError, TypeError) as exc:
            problems.append((line, str(exc)))
            continue
        if row.key in first_seen:
            problems.append(
                (
                    line,
                    f"duplicate {row.key.replace(':', ' ')}, first on line {first_seen[row.key]}",
                )
            )
            continue
        first_seen[row.key] = line
        rows.append(row)
    if not rows and not problems:
        problems.append((1, "the deck has a header but no rate rows"))
    if problems:
        raise DeckError(problems)
    return rows


def _row(cells: dict[str, str]) -> RateRow:
    errors: list[str] = []

    def money(column: str, required: bool = False) -> int | None:
        value = cells[column]
        if not value:
            if required:
                errors.append(f"{column} is required")
            return None
        try:
            return parse_money(value)
        except ValueError as exc:
            errors.append(f"{column}: {exc}")
            return None

    def seconds(column: str) -> int:
        value = cells[column]
        if not _SECONDS.fullmatch(value) or int(value) == 0:
            errors.append(f"{column} must be a whole number of seconds ≥ 1, got {value!r}")
            return 1
        return int(value)

    def time(column: str) -> str | None:
        value = cells[column]
        if not value:
            return None
        try:
            hhmm_to_minute(value)
        except ValueError as exc:
            errors.append(f"{column}: {exc}")
            return None
        return value

    prefix, category, name = cells["prefix"] or None, cells["category"] or None, cells["name"]
    if (prefix is None) == (category is None):
        errors.append("give exactly one of prefix or category")
    if prefix is not None and not (prefix.isascii() and prefix.isdigit()):
        errors.append(f"prefix {prefix!r} must be digits without '+'")
    if category is not None and category not in CATEGORIES:
        errors.append(f"category {category!r} is not one of {', '.join(sorted(CATEGORIES))}")
    if not name:
        errors.append("name is required")
    price = money("price_per_minute", required=True)
    first, step = seconds("first_increment"), seconds("next_increment")
    connect, minimum = money("connect_fee") or 0, money("minimum_charge") or 0
    peak, offpeak = money("peak_price"), money("offpeak_price")
    off_start, off_end = time("offpeak_start"), time("offpeak_end")

    window = [cells[c] for c in ("offpeak_price", "offpeak_start", "offpeak_end")]
    if any(window) and not all(window):
        errors.append("offpeak_price, offpeak_start and offpeak_end go together")
    if cells["peak_price"] and not all(window):
        errors.append(
            "peak_price needs an off-peak window (offpeak_price, offpeak_start, offpeak_end)"
        )
    if off_start is not None and off_start == off_end:
        errors.append(
            "offpeak_start and offpeak_end are equal: the window would cover the whole day"
        )
    if errors:
        raise ValueError("; ".join(errors))

    bands: list[TimeBand] = []
    if offpeak is not None and off_start is not None and off_end is not None:
        bands.append(TimeBand("offpeak", off_start, off_end, offpeak))
        if peak is not None:
            bands.append(TimeBand("peak", off_end, off_start, peak))
    assert price is not None
    return RateRow(
        name=name,
        prefix=prefix,
        category=category,
        price_per_minute=price,
        first_increment=first,
        next_increment=step,
        connect_fee=connect,
        minimum_charge=minimum,
        bands=tuple(bands),
    )


def export_deck(rows: Iterable[RateRow]) -> str:
    """The CSV deck for ``rows``; raises ValueError for bands a deck cannot express."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        peak, offpeak, start, end = _deck_bands(row)
        writer.writerow(
            [
                row.prefix or "",
                row.category or "",
                row.name,
                format_money(row.price_per_minute),
                row.first_increment,
                row.next_increment,
                format_money(row.connect_fee),
                format_money(row.minimum_charge),
                "" if peak is None else format_money(peak),
                "" if offpeak is None else format_money(offpeak),
                start or "",
                end or "",
            ]
        )
    return out.getvalue()


def _deck_bands(row: RateRow) -> tuple[int | None, int | None, str | None, str | None]:
    bands = row.bands
    if not bands:
        return None, None, None, None
    off = bands[0]
    fits = off.name == "offpeak" and off.days == ALL_DAYS and off.start != off.end
    if len(bands) == 2:
        peak = bands[1]
        fits = fits and (peak.name, peak.start, peak.end, peak.days) == (
            "peak",
            off.end,
            off.start,
            ALL_DAYS,
        )
        if fits:
            return peak.price_per_minute, off.price_per_minute, off.start, off.end
    elif len(bands) == 1 and fits:
        return None, off.price_per_minute, off.start, off.end
    raise ValueError(
        f"rate row {row.name!r} has time bands a CSV deck cannot express"
        " (only a daily offpeak window, optionally with peak over the rest of the day)"
    )


__all__ = ["COLUMNS", "DeckError", "export_deck", "format_money", "parse_deck", "parse_money"]
