"""The last few batches' features, keyed by the batch's content hash, for the drift monitor.

A model fills it as a side effect of predict, so observing a served batch costs a lookup
instead of a second forward pass. Keys are hashes; the texts themselves are not kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

BATCHES = 8
# Larger calls are offline work (evaluate, predict on a file), not served batches: not kept,
# so scoring a big table never holds its embeddings in memory.
MAX_ROWS = 1024


def batch_key(rows: Sequence[object]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for row in rows:
        digest.update(str(row).encode("utf-8", "surrogatepass") + b"\x1e")
    return digest.hexdigest()


class FeatureCache:
    """A small thread-safe LRU of (batch hash → features)."""

    def __init__(self, batches: int = BATCHES) -> None:
        self.batches = batches
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, rows: Sequence[object], features: np.ndarray) -> None:
        if len(rows) > MAX_ROWS:
            return
        key = batch_key(rows)
        with self._lock:
            self._items[key] = features
            self._items.move_to_end(key)
            while len(self._items) > self.batches:
                self._items.popitem(last=False)

    def get(self, rows: Sequence[object]) -> np.ndarray | None:
        key = batch_key(rows)
        with self._lock:
            found = self._items.get(key)
        return found if found is not None and len(found) == len(rows) else None
