"""ERASER-style faithfulness of word attributions (DeYoung et al., 2020), measured by deletion.

For each text and its predicted class c with probability p(x):
- top-k drop (comprehensiveness at k): p(x) - p(x without its k highest-weighted words);
- random-k drop: the same with k words drawn at random (the baseline a faithful explainer beats);
- sufficiency at k: p(x) - p(only the k highest-weighted words kept) (lower is better), with
  its random counterpart;
- AOPC comprehensiveness and sufficiency over ERASER's bins (1, 5, 10, 20, 50 % of the words,
  at least one word).
Written here because no maintained library scores arbitrary word attributions this way;
a few lines of deletion bookkeeping, scored in one batched `probabilities` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from featureship.explain.words import Word, without_words

ERASER_BINS = (0.01, 0.05, 0.1, 0.2, 0.5)


@dataclass
class Attributed:
    text: str
    words: list[Word]
    weights: np.ndarray
    target: int
    probability: float


def deletion_scores(
    probabilities: Callable[[list[str]], np.ndarray], items: Sequence[Attributed],
    ks: Sequence[int] = (1, 2, 3), random_draws: int = 5, seed: int = 0,
) -> dict[str, float]:
    """Mean drops of the predicted class's probability; texts need more than max(ks) words."""
    rng = np.random.default_rng(seed)
    variants: list[str] = []
    slots: list[tuple[str, int]] = []  # (metric key, item index) per variant

    def add(key: str, index: int, item: Attributed, drop: set[int]) -> None:
        variants.append(without_words(item.text, item.words, drop))
        slots.append((key, index))

    for index, item in enumerate(items):
        n = len(item.words)
        order = np.argsort(-item.weights, kind="stable")
        everything = set(range(n))
        for k in ks:
            top = set(order[:k].tolist())
            add(f"top{k}_drop", index, item, top)
            add(f"top{k}_sufficiency", index, item, everything - top)
            for _ in range(random_draws):
                rand = set(rng.choice(n, size=k, replace=False).tolist())
                add(f"random{k}_drop", index, item, rand)
                add(f"random{k}_sufficiency", index, item, everything - rand)
        for fraction in ERASER_BINS:
            k = max(1, int(round(fraction * n)))
            top = set(order[:k].tolist())
            add(f"aopc_comprehensiveness@{fraction}", index, item, top)
            add(f"aopc_sufficiency@{fraction}", index, item, everything - top)
    probs = probabilities(variants)
    sums: dict[str, list[float]] = {}
    for (key, index), row in zip(slots, probs, strict=True):
        item = items[index]
        sums.setdefault(key, []).append(item.probability - float(row[item.target]))
    out = {key: float(np.mean(values)) for key, values in sums.items()}
    for prefix in ("aopc_comprehensiveness", "aopc_sufficiency"):
        parts = [out.pop(f"{prefix}@{f}") for f in ERASER_BINS]
        out[prefix] = float(np.mean(parts))
    for k in ks:
        random = out[f"random{k}_drop"]
        out[f"top{k}_over_random"] = out[f"top{k}_drop"] / random if random > 0 else float("inf")
    out["texts"] = float(len(items))
    return out
