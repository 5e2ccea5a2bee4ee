"""Read CSV / TSV / Parquet / JSONL / JSON into a pandas frame, with errors a user can act on.

Row numbers in every message count data rows from 1 (the header is not a row), which is
what a spreadsheet shows minus one; for JSONL they are line numbers.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from featureship.errors import DataError

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_PARQUET_MAGIC = b"PAR1"


@dataclass
class Table:
    """A user's table plus what we noticed while reading it (shown to the user, kept in reports)."""

    frame: pd.DataFrame
    path: Path
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def read_table(path: str | Path) -> Table:
    """Read a table by its file extension; raise `DataError` naming the file and the fix."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found. Check the path (current folder: {Path.cwd()}).")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a CSV, Parquet or JSONL file.")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the extension '{path.suffix}'. "
            f"Use one of: {', '.join(sorted(SUFFIXES))}."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    if not raw.strip():
        raise DataError(f"{path} is empty: it has no header and no rows.")
    if fmt == "parquet":
        return Table(_read_parquet(path, raw), path)
    if raw.startswith(_PARQUET_MAGIC):
        raise DataError(
            f"{path} is a Parquet file, not {fmt.upper()} as its name says. Rename it to .parquet."
        )
    text, bad_lines = _decode(raw)
    notes = []
    if fmt in ("csv", "tsv"):
        frame = _read_delimited(path, text, sep="\t" if fmt == "tsv" else ",")
    elif fmt == "jsonl":
        frame = _read_jsonl(path, text)
    else:
        frame = _read_json(path, text)
    if bad_lines:
        bad_rows = _rows_with_replacement(frame)
        notes.append(
            f"{path.name}: {len(bad_rows) or bad_lines} row(s) held bytes that are not valid UTF-8; "
            "they were decoded with U+FFFD replacement characters. Re-save the file as UTF-8 "
            "to keep those characters."
        )
    return Table(frame, path, notes)


def _decode(raw: bytes) -> tuple[str, int]:
    """UTF-8 (BOM tolerated); on invalid bytes decode with replacement and count the lines hit."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        bad = 0
        for line in raw.splitlines():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad += 1
        return raw.decode("utf-8", errors="replace"), bad


def _rows_with_replacement(frame: pd.DataFrame) -> list[int]:
    hit = pd.Series(False, index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values) or values.dtype == object:
            hit |= values.astype("str").str.contains("\ufffd", regex=False, na=False)
    return [int(i) + 1 for i in frame.index[hit]]


def _looks_binary(text: str) -> bool:
    return "\x00" in text[:4096]


def _read_delimited(path: Path, text: str, sep: str) -> pd.DataFrame:
    if _looks_binary(text):
        raise DataError(f"{path} holds binary data, not text {path.suffix} as its name says.")
    try:
        # Every cell as written: "None"/"NA" stay labels, "00123" keeps its zeros; only empty
        # cells are missing. Tasks convert the columns they need to numbers themselves.
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path}: not a well-formed {path.suffix[1:].upper()} file ({exc}). "
            "Check the quoting and the number of fields on that line."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty: it has no header and no rows.") from exc
    return frame


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}). "
                "A .jsonl file needs one JSON object per line."
            ) from exc
        if not isinstance(record, dict):
            raise DataError(
                f"{path}, line {number}: expected a JSON object like {{\"text\": ...}}, "
                f"got {type(record).__name__}."
            )
        records.append(_clean_surrogates(record))
    return pd.DataFrame.from_records(records)


def _clean_surrogates(record: dict) -> dict:
    # "\ud83d" alone (a cut emoji) is valid JSON but not encodable text: replace it with U+FFFD.
    for key, value in record.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                record[key] = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return record


def _read_json(path: Path, text: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}). For one record per line, "
            "name the file .jsonl."
        ) from exc
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: expected a JSON array of objects, one per row.")
    return pd.DataFrame.from_records(data)


def _read_parquet(path: Path, raw: bytes) -> pd.DataFrame:
    if not raw.startswith(_PARQUET_MAGIC):
        raise DataError(
            f"{path} is not a Parquet file (it does not start with the Parquet magic bytes). "
            "If it is CSV, rename it to .csv."
        )
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: cannot read this Parquet file ({exc}).") from exc


def as_frame(data: str | Path | pd.DataFrame | Table) -> Table:
    """Accept what a Python API user may pass: a path, a DataFrame or a Table."""
    if isinstance(data, Table):
        return data
    if isinstance(data, pd.DataFrame):
        return Table(data.reset_index(drop=True), Path("<DataFrame>"))
    return read_table(data)
