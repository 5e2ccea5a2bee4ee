"""Local vs local: 10,000 review texts predicted as one list, and 256 at a time (the batches Ray
Data hands an actor) — the baseline for how often `predict --backend ray` can differ from local.

    PYTHONPATH=src .venv/bin/python benchmarks/batching_noise.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (the same bundle recipe and review texts as benchmarks/scale.py)

import featureship  # noqa: E402
from featureship.demo import banking77  # noqa: E402


def main() -> None:
    out = Path(tempfile.mkdtemp()) / "head"
    featureship.train("text-classification", data=scale.banking_subset(banking77(), 20, 30), output=out,
                      text_column="text", label_column="category", mode="head", max_length=128, seed=0)
    model = featureship.load(out)
    texts = scale.review_texts()["text"].tolist()[:10000]
    whole = [p["label"] for p in model.predict(texts)]
    chunked = [p["label"] for i in range(0, len(texts), 256) for p in model.predict(texts[i : i + 256])]
    same = sum(a == b for a, b in zip(whole, chunked, strict=True))
    print(f"local, one list vs local, 256 at a time (as Ray Data's batches): {same}/{len(texts)} predictions equal")


if __name__ == "__main__":
    main()
