"""The reference profile a bundle keeps of its training inputs: features and labels, no raw rows.

    profile.safetensors   `features` (N, D) float32: what the model's `drift_features` gives for
                          a seeded sample of reference rows (text: encoder embeddings);
                          `predicted` (N,) int64: the model's labels for those rows;
                          `label_counts` (C,) int64: the training label distribution
    profile.json          version, feature kind and names, where the sample came from, sizes

Which rows make the reference is the task's call (text classification: its validation split,
which neither the encoder nor the head were fitted on, so its features and predictions look
like live data's; fitted-on rows look "too easy" and would raise false alarms).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from featureship.errors import BundleError

if TYPE_CHECKING:
    from featureship.progress import Reporter
    from featureship.tasks.base import FittedModel

PROFILE_ARRAYS = "profile.safetensors"
PROFILE_META = "profile.json"
PROFILE_VERSION = 1
# Enough for a two-sample test against windows of a few hundred; 1,000 × 384 floats ≈ 1.5 MB.
DEFAULT_SAMPLE = 1000
# What `features` are, which decides the test: "embedding" → MMD on the vectors;
# "columns" → one KS test (and PSI) per column.
FEATURE_KINDS = ("embedding", "columns")


@dataclass
class ReferenceProfile:
    """Features and labels of a reference sample; saved beside the weights, loaded with them."""

    features: np.ndarray | None  # (N, D) float32, or None when the task has no feature vectors
    predicted: np.ndarray | None  # (N,) int64 indices into `labels`
    label_counts: np.ndarray | None  # (C,) training label counts
    labels: list[str] = field(default_factory=list)
    kind: str = "embedding"
    feature_names: list[str] = field(default_factory=list)
    source: str = ""  # in words: which rows, how sampled

    @property
    def rows(self) -> int:
        if self.features is not None:
            return int(len(self.features))
        return int(len(self.predicted)) if self.predicted is not None else 0

    def meta(self) -> dict[str, Any]:
        return {"version": PROFILE_VERSION, "kind": self.kind, "rows": self.rows,
                "dim": int(self.features.shape[1]) if self.features is not None else 0,
                "feature_names": self.feature_names, "labels": self.labels, "source": self.source}

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        arrays = {}
        if self.features is not None:
            arrays["features"] = np.ascontiguousarray(self.features, dtype=np.float32)
        if self.predicted is not None:
            arrays["predicted"] = np.ascontiguousarray(self.predicted, dtype=np.int64)
        if self.label_counts is not None:
            arrays["label_counts"] = np.ascontiguousarray(self.label_counts, dtype=np.int64)
        save_file(arrays, str(directory / PROFILE_ARRAYS))
        (directory / PROFILE_META).write_text(json.dumps(self.meta(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ReferenceProfile | None:
        """The bundle's profile; None for bundles without one (older ones, tasks without it)."""
        from safetensors.numpy import load_file

        arrays_path, meta_path = directory / PROFILE_ARRAYS, directory / PROFILE_META
        if not arrays_path.is_file() and not meta_path.is_file():
            return None
        if not (arrays_path.is_file() and meta_path.is_file()):
            raise BundleError(f"{directory}: {PROFILE_ARRAYS} and {PROFILE_META} come as a pair; one "
                              "is missing. Restore the bundle or retrain.")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("version", 0) > PROFILE_VERSION or meta.get("kind") not in FEATURE_KINDS:
            raise BundleError(f"{meta_path}: a profile of version {meta.get('version')} / kind "
                              f"{meta.get('kind')!r} is not one this featureship reads; upgrade it.")
        arrays = load_file(str(arrays_path))
        return cls(arrays.get("features"), arrays.get("predicted"), arrays.get("label_counts"),
                   list(meta.get("labels", [])), meta["kind"], list(meta.get("feature_names", [])),
                   meta.get("source", ""))


def build_profile(model: FittedModel, rows: list[Any], train_labels: list[str] | None,
                  source: str, seed: int = 0, sample: int = DEFAULT_SAMPLE,
                  progress: Reporter | None = None) -> ReferenceProfile:
    """Profile `model` on a seeded sample of `rows` (its own predict and `drift_features`).

    `train_labels` gives the training label distribution; `source` says in words which rows
    these are. Any task whose `predict` returns {"label", ...} and that implements
    `drift_features` gets a profile from this one function.
    """
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(rows), size=min(sample, len(rows)), replace=False))
    chosen = [rows[i] for i in index]
    if progress is not None:
        progress.info(f"reference profile: {len(chosen):,} rows of {source}")
    outputs = model.predict(chosen) if chosen else []
    features = model.drift_features(chosen, outputs) if chosen else None
    labels = list(model.labels)
    lookup = {lab: i for i, lab in enumerate(labels)}
    predicted = None
    if outputs and all(isinstance(o, dict) and o.get("label") in lookup for o in outputs):
        predicted = np.array([lookup[o["label"]] for o in outputs], dtype=np.int64)
    counts = None
    if train_labels is not None and labels:
        counts = np.bincount([lookup[lab] for lab in train_labels if lab in lookup],
                             minlength=len(labels)).astype(np.int64)
    kind = getattr(model, "drift_feature_kind", "embedding")
    names = list(getattr(model, "drift_feature_names", lambda: [])())
    return ReferenceProfile(None if features is None else np.asarray(features, dtype=np.float32),
                            predicted, counts, labels, kind, names,
                            f"{len(chosen):,} rows sampled (seed {seed}) from {source}")
