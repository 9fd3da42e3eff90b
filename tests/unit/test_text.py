"""Text and numbers the ledger records: only what every view can store."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ledger.errors import InvalidRequest
from ledger.text import check_storable, check_text


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\x85", "tab\there", "del\x7f", 2**63, -(2**63),
                                 {"k\x00": 1}, [["\x1b"]], ("ok", "\x0a")])
def test_an_event_holding_what_a_view_cannot_store_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidRequest):
        check_storable([SimpleNamespace(answer={"nested": [bad]})])


@pytest.mark.parametrize("good", ["\u3000 名字 😀 ü", "", 2**63 - 1, -(2**63 - 1), None, True, 1.5])
def test_printable_text_and_64_bit_numbers_are_stored(good: Any) -> None:
    check_storable([SimpleNamespace(field=good, answer={"k": [good]})])


def test_a_command_s_text_is_checked_for_length_and_control_characters() -> None:
    assert check_text("refund", "a reason") == "refund"
    with pytest.raises(InvalidRequest, match="a reason must not contain control characters"):
        check_text("re\x00fund", "a reason")
    with pytest.raises(InvalidRequest, match="at most 10"):
        check_text("x" * 11, "a reason", 10)
    with pytest.raises(InvalidRequest, match="must not be empty"):
        check_text("  ", "a reason", required=True)
