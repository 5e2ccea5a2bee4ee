"""Image inputs: a folder with one sub-folder per class, or a table with an image-path column.

Decoding is Pillow's; every image becomes a square uint8 array (C, S, S) at the model's size.
Unreadable or truncated files are collected by path, never silently dropped: the caller stops
with the list, or skips them and counts them (`--skip-bad-images`).

    table = image_table("photos/", image_column="path", label_column="label")
    batch = decode_images(table.frame["path"], size=64, channels=3)
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featureship.data.readers import Table, as_frame
from featureship.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
FOLDER_IMAGE_COLUMN, FOLDER_LABEL_COLUMN = "path", "label"
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def list_images(folder: Path) -> list[Path]:
    """Every image file under `folder`, recursively, in a stable order (hidden files skipped)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_image_folder(folder: Path, labelled: bool = True) -> Table:
    """`path` (absolute) and, when `labelled`, `label` = the first sub-folder under `folder`."""
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found. Check the path (current folder: {Path.cwd()}).")
    files = list_images(folder)
    if not files:
        raise DataError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)}), "
                        "not even in sub-folders.")
    frame = pd.DataFrame({FOLDER_IMAGE_COLUMN: [str(p.resolve()) for p in files]})
    notes = []
    if labelled:
        nested = [p for p in files if len(p.relative_to(folder).parts) >= 2]
        loose = len(files) - len(nested)
        if not nested:
            raise DataError(
                f"{folder}: the images lie directly in the folder, so there are no labels. Put each "
                "class's images in its own sub-folder (photos/cat/1.jpg, photos/dog/2.jpg), or give "
                "a table with an image-path column and a label column."
            )
        if loose:
            notes.append(f"{folder.name}: {loose} image(s) directly in the folder have no class "
                         "sub-folder and were left out.")
        frame = pd.DataFrame({FOLDER_IMAGE_COLUMN: [str(p.resolve()) for p in nested],
                              FOLDER_LABEL_COLUMN: [p.relative_to(folder).parts[0] for p in nested]})
    return Table(frame, folder, notes)


def image_table(data: str | Path | pd.DataFrame | Table, labelled: bool = True) -> Table:
    """A folder → (path, label) table; a table file or a DataFrame → as given (relative image
    paths are resolved against the table's own folder by `resolve_paths`)."""
    if isinstance(data, (str, Path)) and Path(data).is_dir():
        return read_image_folder(Path(data), labelled)
    return as_frame(data)


def resolve_paths(table: Table, column: str) -> list[Any]:
    """The image column's values; relative paths are taken relative to the table's folder."""
    base = table.path.parent.resolve() if table.path.is_file() else None
    values = list(table.frame[column])
    if base is None:
        return values
    return [str(base / v) if isinstance(v, str) and not Path(v).is_absolute() else v for v in values]


@dataclass
class Decoded:
    pixels: np.ndarray  # (N, C, S, S) uint8, one row per kept input
    kept: np.ndarray  # positions of the kept inputs
    bad: list[tuple[str, str]] = field(default_factory=list)  # (what, why) per unreadable input
    gray: bool = True  # every kept image was grayscale


def open_image(value: Any) -> Any:
    """A loaded PIL image from a path, raw bytes, a numpy array or a PIL image; raises ValueError."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(value, Image.Image):
        return value
    if isinstance(value, np.ndarray):
        array = value
        if array.dtype != np.uint8:  # floats in [0, 1] or other integer ranges
            top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
            array = np.clip(array.astype(np.float64) * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(array)
    try:
        source = io.BytesIO(value) if isinstance(value, (bytes, bytearray)) else value
        image = Image.open(source)
        image.load()  # decode now: a truncated file raises here, not later in a batch
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except UnidentifiedImageError:
        raise ValueError("not an image Pillow can read (PNG, JPEG, WebP, BMP)") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"damaged or truncated ({exc})") from None
    return image


def to_square(image: Any, size: int, channels: int) -> np.ndarray:
    """Resize (bilinear, aspect squashed to a square) → (channels, size, size) uint8."""
    from PIL import Image

    if image.mode == "P":  # palette images: their colours, not their indices
        image = image.convert("RGBA")
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def is_gray(image: Any) -> bool:
    if image.mode in _GRAY_MODES:
        return True
    if image.mode in ("RGB", "RGBA", "P"):  # colour containers may still hold gray pixels
        small = np.asarray(image.convert("RGB").resize((16, 16)), dtype=np.int16)
        return bool(np.abs(small - small[..., :1]).max() <= 2)
    return False


def decode_images(values: Sequence[Any], size: int, channels: int, names: Sequence[str] | None = None,
                  on_item: Callable[[int], None] | None = None) -> Decoded:
    """Decode every input; the unreadable ones are listed in `bad` (name, reason), not raised."""
    out = np.zeros((len(values), channels, size, size), dtype=np.uint8)
    kept, bad, gray = [], [], True
    for i, value in enumerate(values):
        name = names[i] if names is not None else str(value) if isinstance(value, str) else f"input {i}"
        try:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise ValueError("no image given (empty cell)")
            image = open_image(value)
            gray = gray and is_gray(image)
            out[len(kept)] = to_square(image, size, channels)
            kept.append(i)
        except ValueError as exc:
            bad.append((name, str(exc)))
        if on_item is not None:
            on_item(1)
    return Decoded(out[: len(kept)], np.array(kept, dtype=np.int64), bad, gray)


def bad_images_message(bad: list[tuple[str, str]], where: str) -> str:
    listing = "; ".join(f"{name}: {why}" for name, why in bad[:20])
    more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
    return (f"{where}: {len(bad)} image(s) cannot be read: {listing}{more}. Fix or remove them, "
            "or pass --skip-bad-images to train without them (they are counted in the manifest).")


def decode_base64(text: str, index: int) -> bytes:
    """The bytes of a base64 image field; a DataError naming the input when it is not base64."""
    if "," in text[:100] and text.startswith("data:"):  # a data URI: keep what follows the comma
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"inputs[{index}].image_base64 is not valid base64; send the image file's "
                        "bytes base64-encoded.") from None
