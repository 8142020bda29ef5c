"""Money helpers: ISO 4217 exponents, half-up integer rounding, formatting."""

import pytest

from app.core.money import (
    amount_for_seconds,
    apply_bps,
    div_half_up,
    exponent,
    format_amount,
    is_currency,
)


@pytest.mark.parametrize(
    ("code", "digits"),
    [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_exponents_follow_iso_4217(code, digits):
    assert exponent(code) == digits


def test_unknown_codes_are_not_currencies():
    assert not is_currency("XYZ")
    assert not is_currency("eur")
    with pytest.raises(KeyError):
        exponent("XYZ")


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 3), (4, 2, 2), (7, 3, 2), (8, 3, 3), (-5, 2, -3), (-7, 3, -2), (0, 9, 0)],
)
def test_division_rounds_half_away_from_zero(numerator, denominator, expected):
    assert div_half_up(numerator, denominator) == expected


def test_hourly_amounts_and_basis_points():
    assert amount_for_seconds(1230, 5001) == 1709  # 1708.675 -> 1709
    assert amount_for_seconds(1800, 10001) == 5001  # 5000.5 -> 5001
    assert amount_for_seconds(3600, 0) == 0
    assert apply_bps(12345, 1950) == 2407  # 2407.275 -> 2407
    assert apply_bps(10, 500) == 1  # 0.5 -> 1


def test_formatting_uses_the_currency_digits():
    assert format_amount(123456, "EUR") == "1,234.56 EUR"
    assert format_amount(1234567, "KWD") == "1,234.567 KWD"
    assert format_amount(5000, "JPY") == "5,000 JPY"
    assert format_amount(-5, "EUR") == "-0.05 EUR"
