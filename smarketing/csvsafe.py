"""CSV cells that a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM(...)`,
`-2+3+cmd|' /C calc'!A0`) are defused with a leading apostrophe, as OWASP advises. Every
CSV this app writes goes through `safe_row`; lead fields come from strangers' web forms.

Plain numbers and phone numbers ("+44 20 7946 0958", "-12.5") are left alone: without a
letter, quote, `|` or `!` a cell cannot call anything, and an apostrophe there would spoil
a file people fix and import again."""

import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = re.compile(r"[+-]?[\d\s().,/+-]*")


def safe_cell(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(TRIGGERS):
        return value
    if _NUMERIC.fullmatch(value) and any(c.isdigit() for c in value):
        return value
    return "'" + value


@overload
def safe_row(row: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def safe_row(row: Iterable[Any]) -> list[Any]: ...
def safe_row(row):
    """The row with every dangerous cell defused: a dict for `csv.DictWriter`, a list for
    `csv.writer`."""
    if isinstance(row, Mapping):
        return {key: safe_cell(value) for key, value in row.items()}
    return [safe_cell(value) for value in row]
