"""Does evaluation data overlap the training data? Rows are compared by content hashes.

A bundle keeps a 64-bit hash of every training row's content (never the content itself);
`evaluate` hashes its rows the same way and reports how many were seen in training, since
the numbers are then optimistic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np


def content_key(*parts: Any) -> str:
    """One row's content as a string: parts joined by a separator that cannot occur in text."""
    return "\x1f".join("" if p is None else str(p) for p in parts)


def row_hashes(keys: Iterable[str]) -> np.ndarray:
    """uint64 hashes of row keys (blake2b, 8 bytes), one per key."""
    out = [int.from_bytes(hashlib.blake2b(k.encode("utf-8", "replace"), digest_size=8).digest(),
                          "little") for k in keys]
    return np.array(out, dtype=np.uint64)


def overlap_report(keys: list[str], train_hashes: np.ndarray | None, source: str) -> dict[str, Any]:
    """`{"overlap_rows", "overlap_share"}` and a note when any evaluated row was trained on."""
    if train_hashes is None or not keys:
        return {}
    seen = np.isin(row_hashes(keys), train_hashes)
    count = int(seen.sum())
    result: dict[str, Any] = {"overlap_rows": count, "overlap_share": count / len(keys)}
    if count:
        result["overlap_note"] = (
            f"{source}: {count:,} of {len(keys):,} evaluated rows ({count / len(keys):.0%}) also "
            "occur in the training data, so these numbers are optimistic. Evaluate on rows the "
            "model has not seen."
        )
    return result
