"""CSV cells a spreadsheet would run as a formula are escaped (OWASP), and everything else reads back as written."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from app.reports.export import FORMULA_STARTS, csv_cell, csv_text

# Text with the characters that matter here over-represented: formula starts, quotes, separators, line breaks.
cells = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(alphabet=st.sampled_from([*FORMULA_STARTS, "'", '"', ",", "\n", "a", "1", " ", "é"]), max_size=12),
    st.text(max_size=12),
)


def _written(rows: list[list[object]]) -> list[list[str]]:
    text = csv_text([[csv_cell(v) for v in row] for row in rows])  # as the exports write each chunk
    return list(csv.reader(io.StringIO(text, newline="")))


@given(st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=5))
def test_no_cell_read_back_starts_a_formula_and_the_rest_round_trips(rows):
    read = _written(rows)
    assert len(read) == len(rows)
    for written, parsed in zip(rows, read, strict=True):
        assert len(parsed) == len(written)
        for value, cell in zip(written, parsed, strict=True):
            assert not cell.startswith(FORMULA_STARTS)
            text = "" if value is None else str(value)
            assert cell == ("'" + text if text.startswith(FORMULA_STARTS) else text)


def test_the_owasp_examples():
    assert csv_cell("=1+2") == "'=1+2"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\t=cmd") == "'\t=cmd"
    assert csv_cell("-5") == "'-5" and csv_cell(-5) == "'-5"
    assert csv_cell("docker/24.0 (linux)") == "docker/24.0 (linux)" and csv_cell(None) == ""
