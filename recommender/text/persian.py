"""Formatting numbers, money and dates for Persian readers (reasons, web UI, reports).

- digits: Latin 0-9 become Persian ۰-۹; the thousands separator is the Arabic thousands
  sign «٬» (U+066C) and the decimal separator «٫» (U+066B), as Persian typography uses;
- money: amounts are kept in rial, as the data contracts store them
  («۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال»); one unit everywhere, so no reader has to guess a factor of ten.
  Exact amounts (`format_rial`) go in forms, tables and files; reasons and result pages say
  them the way people do (`format_rial_spoken`: «حدود ۲٫۸ میلیارد ریال»);
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
    "format_rial_spoken",
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


#: Units people name amounts of money in, largest first: (size, Persian word).
_SPOKEN_UNITS: tuple[tuple[int, str], ...] = (
    (10**12, "هزار میلیارد"),
    (10**9, "میلیارد"),
    (10**6, "میلیون"),
    (10**3, "هزار"),
)


def format_rial_spoken(amount: int | float) -> str:
    """An amount of rial as people say it: 2_834_000_000 -> «حدود ۲٫۸ میلیارد ریال».

    The largest unit (هزار، میلیون، میلیارد، هزار میلیارد) the amount reaches; one decimal
    below 100 of that unit, none from 100 up (283_400_000 -> «حدود ۲۸۳ میلیون ریال»);
    «حدود» («about») in front whenever the rounding changed the amount, so a round amount
    stays exact (2_000_000_000 -> «۲ میلیارد ریال»). Below a thousand rial, the amount as is.

    Args:
        amount: the amount in rial.

    Returns:
        The spoken amount in Persian digits, with «٫» as the decimal separator.
    """
    value = abs(float(amount))
    sign = "-" if amount < 0 else ""
    for i, (size, word) in enumerate(_SPOKEN_UNITS):
        if value < size:
            continue
        decimals = 1 if value / size < 100 else 0
        shown = round(value / size, decimals)
        if shown >= 1000 and i > 0:  # 999.6 million reads as 1 billion
            size, word = _SPOKEN_UNITS[i - 1]
            shown = round(value / size, 1)
        about = "حدود " if abs(shown * size - value) >= 0.5 else ""
        return f"{about}{sign}{format_number(shown, 1)} {word} ریال"
    return f"{sign}{format_number(round(value))} ریال"


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
