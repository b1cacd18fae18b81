"""The project's markdown tables (``lamini_lm.reporting.dataframe_markdown``) read back cell for cell."""

import pandas as pd
from markdown_tables import read_table

from lamini_lm.reporting import dataframe_markdown


def test_header_and_rows_read_back_as_written_numbers_untouched():
    rows = [["alpaca", 12, "0.50", 1.0], ["self_instruct", 3, "0.05", 2]]
    header, body = read_table(dataframe_markdown(["source", "rows", "share", "x"], rows))
    assert header == ["source", "rows", "share", "x"]
    assert body == [["alpaca", "12", "0.50", "1.0"], ["self_instruct", "3", "0.05", "2"]]  # not re-formatted


def test_it_is_dataframe_to_markdown():
    table = dataframe_markdown(["a", "b"], [["1.0", "x"]])
    assert table == pd.DataFrame({"a": ["1.0"], "b": ["x"]}).to_markdown(
        index=False, tablefmt="pipe", disable_numparse=True
    )


def test_a_pipe_or_a_line_break_in_a_cell_does_not_split_the_row():
    table = dataframe_markdown(["expr", "note"], [["a | b", "line one\nline two"], ["`x|y`", ""]])
    assert len(table.splitlines()) == 4  # header, delimiter, two rows
    assert "a \\| b" in table
    header, body = read_table(table)
    assert body == [["a | b", "line one line two"], ["`x|y`", ""]]


def test_repeated_and_empty_headers_are_kept():
    header, body = read_table(dataframe_markdown(["", "per 1K", "per 1K"], [["m", "1.6", "50.3"]]))
    assert header == ["", "per 1K", "per 1K"] and body == [["m", "1.6", "50.3"]]


def test_no_rows_is_a_header_only_table():
    header, body = read_table(dataframe_markdown(["model", "score"], []))
    assert header == ["model", "score"] and body == []
