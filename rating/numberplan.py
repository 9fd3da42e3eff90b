"""Dialling context: dialled digits → E.164 number and tariff category.

Guarantees of `classify`:

* the result's ``e164`` is ``"+"`` followed by digits, country code first;
  every number except a ``special`` one is at least *possible* (its length
  fits its country) per the ``phonenumbers`` metadata. A number dialled with
  a prefix (``+``, ``00``, ``0``) that is possible but not listed as valid (a
  range allocated after the metadata was published) is placed by its country
  code alone (``area`` ``None``; ``hmt``, ``international``, or ``national``
  at home) and the tariff rates it by the longest prefix of its digits.
  Specials keep the country code plus what was dialled, e.g. ``"+86110"``,
  so a deck may still price them by prefix;
* ``category`` is one of `CATEGORIES`;
* anything that is not a number we can place raises `InvalidNumber`.

Area codes, mobile ranges and number types come from ``phonenumbers``; what
lives here is only the operator's dialling context (`DialPlan`) and the
mapping of number types to the categories tariffs are written in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

LOCAL = "local"
NATIONAL = "national"
MOBILE = "mobile"
HMT = "hmt"
INTERNATIONAL = "international"
SPECIAL = "special"
CATEGORIES: frozenset[str] = frozenset({LOCAL, NATIONAL, MOBILE, HMT, INTERNATIONAL, SPECIAL})

_SEPARATORS = re.compile(r"[\s\-().]")
_DIALLED = re.compile(r"\+?[0-9]+")

# Number types that are priced as service numbers rather than by geography.
_SPECIAL_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,  # 800 …
        PhoneNumberType.UAN,  # 400 …
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.VOICEMAIL,
    }
)
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.PAGER})
# Possible as dialled from anywhere (not "local only": those need an area code first).
_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


@dataclass(frozen=True, slots=True)
class DialPlan:
    """One deployment's dialling context (defaults: a Beijing operator).

    ``special_patterns`` are regular expressions matched against the whole
    national number (after any trunk/country prefix); numbers matching them,
    numbers ``phonenumbers`` knows as short numbers of the home country and
    toll-free/shared-cost/premium numbers (400, 800 …) are ``special``.
    ``hmt_country_codes`` are billed as Hong Kong / Macau / Taiwan.
    """

    country_code: str = "86"
    home_area: str = "10"
    trunk_prefix: str = "0"
    intl_prefix: str = "00"
    special_patterns: tuple[str, ...] = (r"1\d{2}", r"1\d{4}", r"9[56]\d{3,6}")
    hmt_country_codes: frozenset[str] = frozenset({"852", "853", "886"})
    short_number_max_length: int = 6

    def __post_init__(self) -> None:
        for name in ("country_code", "home_area", "trunk_prefix", "intl_prefix"):
            value = getattr(self, name)
            if not value.isdigit():
                raise ValueError(f"DialPlan.{name} must be digits, got {value!r}")
        if phonenumbers.region_code_for_country_code(int(self.country_code)) == "ZZ":
            raise ValueError(f"DialPlan.country_code {self.country_code!r} is not a country code")

    @property
    def region(self) -> str:
        """ISO region of the home country, e.g. ``"CN"``."""
        return phonenumbers.region_code_for_country_code(int(self.country_code))


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a call goes: E.164 number, tariff category, area code, ISO region.

    ``area`` is the geographic area code of a fixed line (``"10"``, ``"755"``,
    ``"212"``) and ``None`` for mobiles, service numbers and countries
    without area codes.
    """

    e164: str
    category: str
    area: str | None
    region: str

    @property
    def digits(self) -> str:
        """The E.164 number without ``"+"`` — what deck prefixes match."""
        return self.e164[1:]


class InvalidNumber(ValueError):
    """The dialled string is not a number this dial plan can place."""


def classify(dialled: str, plan: DialPlan, caller_area: str | None = None) -> Destination:
    """Place ``dialled`` as seen from a caller in ``caller_area`` (default ``plan.home_area``).

    Accepts ``+<cc>…``, ``<intl_prefix><cc>…`` (``00852…``),
    ``<trunk_prefix><national>`` (``021…``, ``0138…``) and digits without any
    prefix, which are a local fixed line in the caller's area, a mobile or a
    special number. Spaces, dashes, dots and brackets are ignored.
    """
    area = _home_area(plan, caller_area)
    digits = _SEPARATORS.sub("", dialled)
    if not _DIALLED.fullmatch(digits):
        raise InvalidNumber(
            f"{dialled!r} is not a dialled number: use digits, optionally with a leading +"
        )
    if digits.startswith("+"):
        return _international(digits[1:], dialled, plan, area)
    if plan.intl_prefix and digits.startswith(plan.intl_prefix):
        return _international(digits[len(plan.intl_prefix) :], dialled, plan, area)
    if plan.trunk_prefix and digits.startswith(plan.trunk_prefix):
        return _national(digits[len(plan.trunk_prefix) :], dialled, plan, area)
    if _is_special(digits, plan):
        return _special(digits, plan)
    # No prefix: a fixed line in the caller's own area, else a mobile (which
    # in China is dialled the same from everywhere).
    for national in (area + digits, digits):
        number = _parse(plan.country_code + national, dialled)
        if phonenumbers.is_valid_number(number):
            return _categorise(number, plan, area)
    raise InvalidNumber(f"{dialled!r} is neither a local number in area {area} nor a mobile number")


def to_e164(dialled: str, plan: DialPlan | None = None) -> str:
    """The one normaliser: ``dialled`` as E.164, exactly as `classify` places it from the home area.

    Every edge (switch hooks, CLI, portal) binds and looks numbers up with
    this, so a number bound in one place is found in the others.
    """
    return classify(dialled, plan or DialPlan()).e164


def _home_area(plan: DialPlan, caller_area: str | None) -> str:
    area = plan.home_area if caller_area is None else caller_area
    if plan.trunk_prefix and area.startswith(plan.trunk_prefix):
        area = area[len(plan.trunk_prefix) :]  # "010" → "10"
    if not area.isdigit():
        raise InvalidNumber(f"caller area {caller_area!r} is not an area code")
    return area


def _international(digits: str, dialled: str, plan: DialPlan, area: str) -> Destination:
    number = _parse(digits, dialled)
    national = str(number.national_number)
    if str(number.country_code) == plan.country_code and _is_special(national, plan):
        return _special(national, plan)
    return _validated(number, dialled, plan, area)


def _national(national: str, dialled: str, plan: DialPlan, area: str) -> Destination:
    if _is_special(national, plan):
        return _special(national, plan)
    return _validated(_parse(plan.country_code + national, dialled), dialled, plan, area)


def _parse(digits: str, dialled: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{dialled!r} is not a valid number: {exc}") from None


def _validated(
    number: phonenumbers.PhoneNumber, dialled: str, plan: DialPlan, area: str
) -> Destination:
    if not phonenumbers.is_valid_number(number):
        if phonenumbers.is_possible_number_with_reason(number) == _POSSIBLE:
            return _unlisted(number, plan)
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        raise InvalidNumber(
            f"{dialled!r} is not a valid number (+{number.country_code} {number.national_number},"
            f" region {region})"
        )
    return _categorise(number, plan, area)


def _categorise(number: phonenumbers.PhoneNumber, plan: DialPlan, area: str) -> Destination:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number) or "ZZ"
    number_area = _area_code(number)
    country = str(number.country_code)
    if country == plan.country_code:
        kind = phonenumbers.number_type(number)
        if kind in _SPECIAL_TYPES:
            category = SPECIAL
        elif kind in _MOBILE_TYPES or number_area is None:
            category = MOBILE
        else:
            category = LOCAL if number_area == area else NATIONAL
    elif country in plan.hmt_country_codes:
        category = HMT
    else:
        category = INTERNATIONAL
    return Destination(e164=e164, category=category, area=number_area, region=region)


def _unlisted(number: phonenumbers.PhoneNumber, plan: DialPlan) -> Destination:
    """A possible number the metadata does not list: placed by its country code only."""
    country = str(number.country_code)
    if country == plan.country_code:
        category = NATIONAL
    elif country in plan.hmt_country_codes:
        category = HMT
    else:
        category = INTERNATIONAL
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Destination(e164=e164, category=category, area=None, region=region)


def _area_code(number: phonenumbers.PhoneNumber) -> str | None:
    length = phonenumbers.length_of_geographical_area_code(number)
    return str(number.national_number)[:length] if length else None


def _is_special(national: str, plan: DialPlan) -> bool:
    if any(re.fullmatch(p, national) for p in plan.special_patterns):
        return True
    if not national or national[0] == "0" or len(national) > plan.short_number_max_length:
        return False
    short = phonenumbers.PhoneNumber(
        country_code=int(plan.country_code), national_number=int(national)
    )
    return phonenumbers.is_valid_short_number_for_region(short, plan.region)


def _special(national: str, plan: DialPlan) -> Destination:
    return Destination(
        e164=f"+{plan.country_code}{national}", category=SPECIAL, area=None, region=plan.region
    )
