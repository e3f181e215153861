"""CSV that a spreadsheet opens as data, never as formulas (every CSV verinet writes uses this).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some
treat a leading tab or carriage return the same way): a serial such as ``=HYPERLINK(...)`` in a
recall report, or a URL in a directory import report, would run on the reader's machine. Such a
cell gets a single quote in front, the OWASP way, so the spreadsheet shows it as text.

Decisions:

- Fullwidth forms of the four signs (U+FF1D, U+FF0B, U+FF0D, U+FF20) count too: some
  spreadsheets read them as the ASCII signs.
- A cell that itself starts with a single quote gets one more, so the rule can be undone
  exactly: a leading ``'`` in a verinet CSV cell was added by verinet; drop one to get the value.
- Negative numbers do not occur in verinet's reports (GTINs, serials, lots, states, times and
  line numbers); a value starting with ``-`` is text there and is quoted like any other.
- Only cells are changed; the ``csv`` module still quotes separators, quotes and line breaks.

>>> safe_cell("=1+2"), safe_cell("-5"), safe_cell("'x"), safe_cell("LOT-1"), safe_cell(7)
("'=1+2", "'-5", "''x", 'LOT-1', '7')
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any, Final

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row", "safe_writer"]

#: First characters that make a spreadsheet evaluate a cell (plus the quote used to neutralise).
FORMULA_STARTS: Final = frozenset("=+-@\t\r'\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: object) -> str:
    """The cell's text, with a single quote in front when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def safe_row(values: Iterable[object]) -> list[str]:
    return [safe_cell(value) for value in values]


class SafeWriter:
    """``csv.writer`` with every cell passed through :func:`safe_cell`."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        self._writer.writerows(safe_row(values) for values in rows)

    def write_dicts(self, columns: tuple[str, ...], rows: Iterable[Mapping[str, object]]) -> None:
        """One line per mapping, in ``columns`` order; a missing member is an empty cell."""
        self.writerows([row.get(name, "") for name in columns] for row in rows)


def safe_writer(stream: IO[str], **options: Any) -> SafeWriter:
    """The one way verinet writes CSV: ``safe_writer(stream).writerow([...])``."""
    return SafeWriter(stream, **options)
