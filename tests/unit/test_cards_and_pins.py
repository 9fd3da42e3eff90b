import pytest

from ledger.cardnumbers import check_card_number, is_valid_number, luhn_digit, new_number
from ledger.errors import InvalidPin, InvalidRequest
from ledger.pins import PinHasher, check_pin_format


def test_card_numbers_have_the_kind_s_length_and_a_valid_check_digit() -> None:
    for kind, digits in (("callback", 10), ("voucher", 16)):
        numbers = {new_number(kind) for _ in range(2000)}
        assert len(numbers) == 2000  # no repeats in a small draw from 10^9 / 10^15
        assert all(len(n) == digits and n[0] != "0" and is_valid_number(n) for n in numbers)


def test_a_single_mistyped_digit_fails_the_check() -> None:
    number = new_number("voucher")
    for i in range(len(number)):
        wrong = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        assert not is_valid_number(wrong)
    with pytest.raises(InvalidRequest):
        check_card_number(number[:-1] + str((int(number[-1]) + 1) % 10))


def test_the_luhn_digit_matches_a_known_card_number() -> None:
    assert luhn_digit("7992739871") == "3"


def test_a_pin_verification_value_reveals_nothing_without_the_key() -> None:
    a, b = PinHasher(b"k" * 32), PinHasher(b"q" * 32)
    pvv = a.pvv("1234567897", "123456")
    assert "123456" not in pvv and len(pvv) == 32
    assert a.matches("1234567897", "123456", pvv)
    assert not a.matches("1234567897", "123457", pvv)
    assert not b.matches("1234567897", "123456", pvv)  # another key cannot check it
    assert a.pvv("1234567905", "123456") != pvv  # same PIN on another card differs


@pytest.mark.parametrize("pin", ["12345", "12345678901", "12a456", "１２３４５６", ""])
def test_pins_are_six_to_ten_ascii_digits(pin: str) -> None:
    with pytest.raises(InvalidPin):
        check_pin_format(pin)
    assert check_pin_format("0000000") == "0000000"
