"""Reading user files: every format, and a clear message for every way a file can be wrong."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from featureship.data.readers import read_table
from featureship.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"text": ["my card is lost", "top up failed"], "label": ["card", "top_up"]})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".json"])
def test_reads_every_format(tmp_path, frame, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_json(path, orient="records")
    table = read_table(path)
    assert table.frame["text"].tolist() == frame["text"].tolist()
    assert table.frame["label"].tolist() == frame["label"].tolist()
    assert table.notes == []


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")


def test_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_unknown_extension_lists_the_known_ones(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match=r"\.xlsx.*Use one of: .*\.csv.*\.parquet"):
        read_table(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty.csv is empty"):
        read_table(path)


def test_csv_named_parquet_is_refused(tmp_path, frame):
    path = tmp_path / "data.parquet"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="is not a Parquet file.*rename it to .csv"):
        read_table(path)


def test_parquet_named_csv_is_refused(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_parquet(path)
    with pytest.raises(DataError, match="is a Parquet file, not CSV.*Rename it to .parquet"):
        read_table(path)


def test_jsonl_bad_line_is_named(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "broken\n')
    with pytest.raises(DataError, match=r"data.jsonl, line 2: not valid JSON"):
        read_table(path)


def test_jsonl_non_object_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "ok"}\n["a", "list"]\n')
    with pytest.raises(DataError, match="line 2: expected a JSON object"):
        read_table(path)


def test_json_must_be_array_of_objects(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"text": "x"}))
    with pytest.raises(DataError, match="expected a JSON array of objects"):
        read_table(path)


def test_malformed_csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('text,label\n"unterminated,a\nfine,b\n')
    with pytest.raises(DataError, match="not a well-formed CSV"):
        read_table(path)


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncafé crème,a\nplain,b\nnaïve,a\n".encode("latin-1"))
    table = read_table(path)
    assert len(table.frame) == 3
    assert "\ufffd" in table.frame["text"].iloc[0]
    assert table.frame["text"].iloc[1] == "plain"
    assert len(table.notes) == 1
    assert "2 row(s) held bytes that are not valid UTF-8" in table.notes[0]
    assert "latin1.csv" in table.notes[0]


def test_utf8_bom_is_tolerated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftext,label\nhello,a\n")
    assert list(read_table(path).frame.columns) == ["text", "label"]


def test_csv_cells_are_kept_as_written(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("id,text,intent\n00123,cancel it,None\n00456,,NA\n")
    frame = read_table(path).frame
    assert frame["id"].tolist() == ["00123", "00456"]
    assert frame["intent"].tolist() == ["None", "NA"]
    assert pd.isna(frame.loc[1, "text"])


def test_jsonl_lone_surrogate_is_replaced(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"text": "hi \\ud83d", "label": "a"}\n')
    assert read_table(path).frame["text"].iloc[0].startswith("hi \ufffd")
