"""Invoice arithmetic, all in integer minor units.

- A time line bills `quantity_seconds` = its tracked seconds rounded *up* to the client's
  `rounding_seconds` (per line, at invoice time; stored time is untouched), and
  `amount = half_up(quantity_seconds * hourly_rate / 3600)`.
- A manual line bills `amount = half_up(quantity * unit_amount)` (quantity has at most 4
  decimals).
- `discount_amount = half_up(subtotal * discount_bps / 10000)`.
- Tax is computed per line on the line's amount after the invoice discount:
  `tax = half_up(amount * (10000 - discount_bps) * tax_rate_bps / 10000²)`, then summed.
- `total = subtotal - discount + tax`; `amount_due = total - amount_paid`.
"""

from dataclasses import dataclass
from decimal import Decimal

from app.core.money import apply_bps, div_half_up

_QUANTITY_SCALE = 10_000


def round_up_seconds(seconds: int, step: int) -> int:
    """`seconds` rounded up to a whole number of `step`s (0: unrounded)."""
    if step <= 0 or seconds % step == 0:
        return seconds
    return (seconds // step + 1) * step


def time_amount(quantity_seconds: int, hourly_rate_amount: int) -> int:
    """The amount of billed seconds at an hourly rate, half-up."""
    return div_half_up(quantity_seconds * hourly_rate_amount, 3600)


def manual_amount(quantity: Decimal, unit_amount: int) -> int:
    """The amount of `quantity` units (at most 4 decimals), half-up."""
    scaled = int(quantity * _QUANTITY_SCALE)
    if Decimal(scaled) != quantity * _QUANTITY_SCALE:
        raise ValueError("quantity has more than 4 decimals")
    return div_half_up(scaled * unit_amount, _QUANTITY_SCALE)


def line_tax(amount: int, tax_rate_bps: int, discount_bps: int) -> int:
    """A line's tax on its amount after the invoice discount, half-up."""
    return div_half_up(amount * (10_000 - discount_bps) * tax_rate_bps, 10_000 * 10_000)


@dataclass(frozen=True)
class Totals:
    subtotal_amount: int
    discount_amount: int
    tax_amount: int
    total_amount: int


def totals(lines: list[tuple[int, int]], discount_bps: int) -> tuple[Totals, list[int]]:
    """Totals of (amount, tax_rate_bps) lines, and each line's tax."""
    taxes = [line_tax(amount, rate, discount_bps) for amount, rate in lines]
    subtotal = sum(amount for amount, _ in lines)
    discount = apply_bps(subtotal, discount_bps)
    tax = sum(taxes)
    return Totals(subtotal, discount, tax, subtotal - discount + tax), taxes
