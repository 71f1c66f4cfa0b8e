"""Formatting numbers, money and dates for Persian readers (reasons, web UI, reports).

- digits: Latin 0-9 become Persian ۰-۹; the thousands separator is the Arabic thousands
  sign «٬» (U+066C) and the decimal separator «٫» (U+066B), as Persian typography uses;
- money: amounts are kept in rial, as the data contracts store them
  («۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال»); one unit everywhere, so no reader has to guess a factor of ten;
- dates: Jalali (Solar Hijri) via `jdatetime`, numeric («۱۴۰۵/۰۹/۰۵») or long
  («۵ آذر ۱۴۰۵»).
"""

from __future__ import annotations

import datetime as dt

import jdatetime

__all__ = [
    "DECIMAL_SEPARATOR",
    "THOUSANDS_SEPARATOR",
    "format_jalali",
    "format_number",
    "format_percent",
    "format_rial",
    "to_persian_digits",
]

THOUSANDS_SEPARATOR = "\u066c"  # ٬
DECIMAL_SEPARATOR = "\u066b"  # ٫

_DIGITS = str.maketrans({str(d): chr(0x06F0 + d) for d in range(10)})


def to_persian_digits(value: object) -> str:
    """`str(value)` with Latin digits replaced by Persian ones (nothing else changes).

    Args:
        value: a number or a text.

    Returns:
        The text with ۰-۹ in place of 0-9.
    """
    return str(value).translate(_DIGITS)


def format_number(value: float | int, decimals: int = 0) -> str:
    """A number in Persian digits with thousands separators: 1234567.5 -> «۱٬۲۳۴٬۵۶۷٫۵».

    Args:
        value: the number.
        decimals: digits after the decimal separator (trailing zeros dropped).

    Returns:
        The formatted number; a minus sign stays in front.
    """
    text = f"{value:,.{decimals}f}" if decimals > 0 else f"{round(value):,}"
    if decimals > 0 and "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.replace(",", THOUSANDS_SEPARATOR).replace(".", DECIMAL_SEPARATOR)
    return to_persian_digits(text)


def format_rial(amount: int | float) -> str:
    """An amount of money in rial: 2_000_000_000 -> «۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال».

    Args:
        amount: the amount in rial (rounded to a whole rial).

    Returns:
        The amount in Persian digits with separators, followed by «ریال».
    """
    return f"{format_number(round(amount))} ریال"


def format_percent(fraction: float, decimals: int = 0) -> str:
    """A fraction as a Persian percentage: 0.735 -> «۷۴٪».

    Args:
        fraction: the value in [0, 1] (not clipped).
        decimals: digits after the decimal separator.

    Returns:
        The percentage followed by the Persian percent sign «٪».
    """
    return f"{format_number(fraction * 100, decimals)}٪"


def format_jalali(value: dt.date | dt.datetime | str, long: bool = False) -> str:
    """A Gregorian date (or ISO text) as a Jalali date in Persian digits.

    Args:
        value: a date, a datetime (its date is used) or an ISO date text "2026-11-26".
        long: «۵ آذر ۱۴۰۵» instead of «۱۴۰۵/۰۹/۰۵».

    Returns:
        The Jalali date.

    Raises:
        ValueError: when a text is not an ISO date.
    """
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    jalali = jdatetime.date.fromgregorian(date=value)
    if long:
        month = jdatetime.date.j_months_fa[jalali.month - 1]
        return to_persian_digits(f"{jalali.day} {month} {jalali.year}")
    return to_persian_digits(f"{jalali.year:04d}/{jalali.month:02d}/{jalali.day:02d}")
