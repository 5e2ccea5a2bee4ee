"""`featureship predict --backend ray`: batch prediction with Ray Data.

The input is read as a stream of blocks (CSV, Parquet or JSONL files, a folder of them, or
for image models a folder of images, listed on the driver and decoded in the actors), scored
by `map_batches` on a pool of actors that each load the bundle once, and written by the
driver as Parquet shards `part-00000.parquet`, ... in input order. Every input column is kept,
plus the model's prediction columns and `row_id` (the 0-based input row), so the shards read
back in name order, or sorted by `row_id`, line up with the input row for row.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from featureship.artifacts import refuse_output_over_input
from featureship.backends import Backend
from featureship.backends.cluster import ray_cluster
from featureship.errors import DataError, SettingsError
from featureship.progress import Reporter

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}
SHARD_ROWS = 100_000  # rows per output Parquet file
ROW_ID = "row_id"


class BundlePredictor:
    """One Ray Data actor: loads the bundle once, then scores batch after batch."""

    def __init__(self, bundle: str, key: Any = None, redact_pii: bool = False, threads: int = 1) -> None:
        import torch

        from featureship.api import load

        torch.set_num_threads(threads)
        self.model = load(bundle, key=key)
        if redact_pii:
            self.model.redact_pii = True

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict_frame(as_read_locally(batch.reset_index(drop=True)))


def as_read_locally(batch: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed text columns (pd.NA for missing) as featureship's readers give them: the
    `str` dtype with NaN, so a batch is validated exactly like the same rows read locally."""
    for column in batch.columns:
        dtype = batch[column].dtype
        if (isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA) or (
                isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype)):
            batch[column] = batch[column].astype(object).where(batch[column].notna(), None).astype("str")
    return batch


def predict_on_ray(bundle: Path, data: Path, output: Path, backend: Backend, progress: Reporter,
                   key: Any = None, redact_pii: bool = False, batch_size: int = 256) -> dict[str, Any]:
    """Score `data` with the bundle on `backend.workers` actors; write Parquet shards in `output`."""
    from featureship.api import load

    model = load(bundle, key=key)  # on the driver too: fail fast, and know how it reads inputs
    if model.batch_input is None:
        raise SettingsError(
            f"{model.name} is a {model.task} model; `predict --backend ray` scores tables (text, "
            "tabular and image models). Predict it without --backend ray."
        )
    files, kind = _input_files(data, model)
    _check_output(output, data)
    with ray_cluster(backend, progress) as ray:
        import pyarrow as pa
        import pyarrow.parquet as pq

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # blocks come back in input order
        context.enable_progress_bars = False  # featureship's own bar counts the rows
        dataset = _read(ray, files, kind, model)
        scored = dataset.map_batches(
            BundlePredictor, fn_constructor_kwargs={"bundle": str(bundle), "key": key, "redact_pii": redact_pii},
            batch_size=batch_size, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=backend.workers),
            num_cpus=1)
        output.mkdir(parents=True)
        started, rows, shards, writer, writer_rows = time.monotonic(), 0, 0, None, 0
        try:
            with progress.step(f"Ray Data: scoring {data.name} on {backend.workers} actors", total=None) as step:
                for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
                    batch = batch.append_column(ROW_ID, pa.array(range(rows, rows + batch.num_rows), pa.int64()))
                    if writer is not None and writer_rows >= SHARD_ROWS:
                        writer.close()
                        writer = None
                    if writer is None:
                        writer = pq.ParquetWriter(output / f"part-{shards:05d}.parquet", batch.schema)
                        shards, writer_rows = shards + 1, 0
                    writer.write_table(_conform(batch, writer.schema))
                    rows += batch.num_rows
                    writer_rows += batch.num_rows
                    step.advance(batch.num_rows)
        finally:
            if writer is not None:
                writer.close()
    seconds = time.monotonic() - started
    progress.info(f"wrote {rows:,} rows in {shards} Parquet shard(s) to {output} "
                  f"({rows / max(seconds, 1e-9):,.0f} rows/s on {backend.workers} actors)")
    return {"rows": rows, "shards": shards, "seconds": seconds, "output": str(output)}


def _input_files(data: Path, model: Any) -> tuple[list[str], str]:
    if not data.exists():
        raise DataError(f"--data {data}: not found. Give a CSV/Parquet/JSONL file or a folder of them.")
    if data.is_file():
        kind = TABLE_SUFFIXES.get(data.suffix.lower())
        if kind is None:
            raise DataError(f"--data {data}: --backend ray reads {', '.join(TABLE_SUFFIXES)} files; "
                            f"convert it, or predict without --backend ray.")
        return [str(data)], kind
    tables = sorted(p for p in data.rglob("*") if p.suffix.lower() in TABLE_SUFFIXES and p.is_file())
    kinds = {TABLE_SUFFIXES[p.suffix.lower()] for p in tables}
    if tables and len(kinds) == 1:
        return [str(p) for p in tables], kinds.pop()
    if tables:
        raise DataError(f"--data {data} mixes {', '.join(sorted(kinds))} files; keep one format per folder.")
    if model.batch_input == "images":  # a folder of images: the listing is the table
        return [str(data)], "images"
    raise DataError(f"--data {data}: the folder holds no {', '.join(TABLE_SUFFIXES)} files.")


def _check_output(output: Path, data: Path) -> None:
    if output.exists():
        raise SettingsError(f"--output {output} exists; --backend ray writes a new folder of Parquet "
                            "shards: remove it or pick a new name.")
    refuse_output_over_input(output, data, "folder" if data.is_dir() else "file")


# Reading is light next to scoring: read tasks reserve no CPU, so N actors on N CPUs never
# starve the reads that feed them.
_READ_ARGS = {"num_cpus": 0}


def _read(ray: Any, files: list[str], kind: str, model: Any) -> Any:
    if kind == "parquet":
        return ray.data.read_parquet(files, **_READ_ARGS)
    if kind == "jsonl":
        return ray.data.read_json(files, lines=True, **_READ_ARGS)
    if kind == "images":
        return ray.data.from_pandas(model.batch_listing(Path(files[0])))
    # CSV as the local reader sees it: every cell a string, only empty cells missing
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = _header(files[0])

    convert = pcsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                  null_values=[""], strings_can_be_null=True)
    # Quoted cells may hold line breaks (reviews do): without this, a block boundary that falls
    # inside one makes Arrow's chunked reader fail on a file pandas reads fine.
    parse = pcsv.ParseOptions(newlines_in_values=True)
    return ray.data.read_csv(files, convert_options=convert, parse_options=parse, **_READ_ARGS)


def _header(path: str) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def _conform(batch: Any, schema: Any) -> Any:
    """A later batch whose column came out all-null (type null) takes the first shard's type."""
    if batch.schema.equals(schema):
        return batch
    return batch.select(schema.names).cast(schema)
