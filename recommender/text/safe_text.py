"""Rules for user text that ends up somewhere it could do harm: one implementation each, used by
the data contracts (API, CLI imports, web forms), the exports and the reports.

* Bidirectional override and embedding controls (U+202A-U+202E, U+2066-U+2069) let a name show
  as something else ("gpj.exe" shown as "exe.jpg"); they are removed from text on input, and
  again from text written to reports (rows stored before this rule existed).
* Spreadsheet formula injection (OWASP "CSV Injection"): a cell that starts with `= + - @`,
  a tab or a carriage return is read by Excel/LibreOffice as a formula. Text cells written to
  CSV or XLSX get a leading `'` so they stay text; `unneutralise_cell` takes it off again when
  our own exports are imported back.
"""

from __future__ import annotations

import re
from typing import Any

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def strip_bidi(text: str) -> str:
    """`text` without bidi override/embedding/isolate controls."""
    return _BIDI.sub("", text) if _BIDI.search(text) else text


def strip_bidi_deep(value: Any) -> Any:
    """`strip_bidi` applied to every string in nested dicts, lists and tuples."""
    if isinstance(value, str):
        return strip_bidi(value)
    if isinstance(value, dict):
        return {strip_bidi_deep(k): strip_bidi_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(strip_bidi_deep(v) for v in value)
    return value


def spreadsheet_cell(value: Any) -> Any:
    """A value safe for a CSV or XLSX cell: text starting with a formula trigger gets a
    leading `'`; bidi controls are removed; other values are returned unchanged."""
    if not isinstance(value, str):
        return value
    value = strip_bidi(value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise_cell(text: str) -> str:
    """Undo `spreadsheet_cell` on a text cell read back from a CSV or XLSX file."""
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text
