"""Small real image data for tests: scikit-learn's bundled digits (8x8 scans, 10 classes)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images * (255 / 16)).round().clip(0, 255).astype(np.uint8)  # (N, 8, 8)
    return images, d.target


def digits_frame(per_class: int, skip: int = 0, classes: int = 10) -> pd.DataFrame:
    """`per_class` digits of each of the first `classes` classes (after `skip` of each), as arrays."""
    images, target = _digits()
    rows = []
    for label in range(classes):
        where = np.flatnonzero(target == label)[skip : skip + per_class]
        rows += [{"image": images[i], "digit": str(label)} for i in where]
    return pd.DataFrame(rows)


def write_digits_folder(root: Path, per_class: int, skip: int = 0, classes: int = 3,
                        colour_every: int = 0, scale: int = 2) -> Path:
    """root/<digit>/<n>.png; every `colour_every`-th image saved as an RGB JPEG of another size."""
    images, target = _digits()
    for label in range(classes):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        for n, i in enumerate(np.flatnonzero(target == label)[skip : skip + per_class]):
            image = Image.fromarray(images[i]).resize((8 * scale, 8 * scale), Image.NEAREST)
            if colour_every and n % colour_every == 0:
                rgb = np.stack([np.asarray(image)] * 3, -1)
                rgb[..., 0] = np.maximum(rgb[..., 0], 40)  # a tint: truly colour, not gray in RGB
                Image.fromarray(rgb).resize((8 * scale + 5, 8 * scale + 5)).save(root / str(label) / f"{n}.jpg")
            else:
                image.save(root / str(label) / f"{n}.png")
    return root


def png_bytes(image: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
