"""A user's folder or table → decoded pixel arrays and labels, with every bad image listed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from featureship.data.columns import blank_rows, describe_rows, require_columns, require_rows
from featureship.data.images import bad_images_message, decode_images, resolve_paths
from featureship.data.readers import Table
from featureship.errors import DataError
from featureship.progress import Reporter, silent
from featureship.tasks.text_classification.data import label_strings


@dataclass
class ImageRows:
    """The usable rows of a table: where each image is, what it is labelled, what was left out."""

    values: list[Any]  # paths, bytes or arrays, one per kept row
    names: list[str]  # how each is named in messages (its path, or 'row N')
    labels: list[str] | None
    rows: np.ndarray  # 0-based positions in the user's table
    notes: list[str] = field(default_factory=list)


def image_rows(table: Table, image_column: str, label_column: str | None, trained: bool = False) -> ImageRows:
    """Check the columns; rows without an image or label are skipped and reported."""
    require_columns(table, trained=trained, image_column=image_column, label_column=label_column)
    require_rows(table)
    values = resolve_paths(table, image_column)
    skip = np.zeros(len(values), dtype=bool)
    notes = list(table.notes)
    labels = None
    if label_column is not None:
        label_values = label_strings(table.frame[label_column])
        missing = blank_rows(label_values)
        if missing:
            notes.append(f"{table.name}: skipped {len(missing)} row(s) with no '{label_column}': "
                         f"{describe_rows(missing)}.")
            skip[np.array(missing) - 1] = True
        labels = [str(v) for v in label_values[~skip]]
    rows = np.flatnonzero(~skip)
    names = [v if isinstance(v, str) else f"{table.name}, row {r + 1}" for r, v in
             zip(rows, (values[r] for r in rows), strict=True)]
    return ImageRows([values[r] for r in rows], names, labels, rows, notes)


@dataclass
class Pixels:
    pixels: np.ndarray  # (N, C, S, S) uint8
    labels: list[str] | None
    rows: np.ndarray  # positions in the user's table
    names: list[str]
    skipped: list[tuple[str, str]]  # bad images left out (path, reason)
    gray: bool


def load_pixels(examples: ImageRows, size: int, channels: int, skip_bad: bool, where: str,
                progress: Reporter | None = None) -> Pixels:
    """Decode `examples`; bad images stop the run with their list unless `skip_bad`."""
    progress = progress or silent()
    with progress.step(f"reading {len(examples.values):,} images at {size}x{size}",
                       total=len(examples.values)) as step:
        decoded = decode_images(examples.values, size, channels, examples.names, step.advance)
    if decoded.bad and not skip_bad:
        raise DataError(bad_images_message(decoded.bad, where))
    keep = decoded.kept
    labels = [examples.labels[i] for i in keep] if examples.labels is not None else None
    return Pixels(decoded.pixels, labels, examples.rows[keep], [examples.names[i] for i in keep],
                  decoded.bad, decoded.gray)


def pixels_fingerprint(pixels: np.ndarray, labels: list[str]) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes())
    digest.update("\x1e".join(labels).encode())
    return digest.hexdigest()


def check_trainable(labels: list[str], source: str, label_column: str) -> None:
    """Two classes at least, each with two images (one to learn from, one to validate on)."""
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        raise DataError(f"{source}: only one class ('{values[0] if len(values) else ''}') in "
                        f"'{label_column}'; a classifier needs at least two. Add another class folder.")
    rare = [f"'{v}' ({c})" for v, c in zip(values, counts, strict=True) if c < 2]
    if rare:
        raise DataError(f"{source}: class(es) {', '.join(rare)} have fewer than 2 images; each class "
                        "needs at least 2 (one to learn from, one to validate on). Add images or "
                        "remove those classes.")
