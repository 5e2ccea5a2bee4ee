"""Uploaded training data: written under WORKDIR/uploads/ID only, described by its columns."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

from featureship.data.readers import SUFFIXES, read_table
from featureship.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
_PREVIEW_ROWS, _PREVIEW_CHARS = 5, 80


@dataclass
class Upload:
    id: str
    kind: str  # "table" or "folder"
    name: str
    path: Path
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "rows": self.rows,
                "columns": self.columns, "preview": self.preview, "classes": self.classes}


def safe_relative(filename: str) -> PurePosixPath:
    """A browser-given file name as a relative path inside the upload folder, or a DataError."""
    path = PurePosixPath(filename.replace("\\", "/"))
    if not filename or path.is_absolute() or any(p in ("", ".", "..") for p in path.parts):
        raise DataError(f"The uploaded file name '{filename}' is not a plain relative path; "
                        "rename it (no '..', no leading '/').")
    return path


def new_upload_folder(root: Path) -> tuple[str, Path]:
    upload_id = secrets.token_hex(6)
    folder = root / upload_id
    folder.mkdir(parents=True)
    return upload_id, folder


def describe_upload(upload_id: str, folder: Path, written: list[PurePosixPath]) -> Upload:
    """A single table file, or a folder (of images in class sub-folders)."""
    if len(written) == 1 and written[0].suffix.lower() in SUFFIXES:
        return describe_table(upload_id, folder / written[0], written[0].name)
    tops = {p.parts[0] for p in written}
    root = folder / tops.pop() if len(tops) == 1 and all(len(p.parts) > 1 for p in written) else folder
    images = [p for p in written if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise DataError(f"The upload ({len(written)} file(s)) holds neither one table (CSV, "
                        "Parquet, JSONL) nor images; upload a table, or a folder with one "
                        "sub-folder of images per class.")
    classes = sorted({(folder / p).parent.name for p in images if (folder / p).parent != root})
    return Upload(upload_id, "folder", root.name, root, rows=len(images), classes=classes)


def describe_table(upload_id: str, path: Path, name: str) -> Upload:
    table = read_table(path)  # a DataError names the file, the row and the fix
    frame = table.frame
    preview = [{str(k): _short(v) for k, v in row.items()}
               for row in frame.head(_PREVIEW_ROWS).to_dict("records")]
    return Upload(upload_id, "table", name, path, rows=len(frame),
                  columns=[str(c) for c in frame.columns], preview=preview)


def bundled_datasets() -> dict[str, Path]:
    """The tables shipped in featureship/datasets (banking77 and its standard replies)."""
    folder = Path(str(files("featureship") / "datasets"))
    return {p.name: p for p in sorted(folder.glob("*.csv"))}


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _PREVIEW_CHARS:
        return value[:_PREVIEW_CHARS] + "…"
    return None if value != value else value  # NaN → null  # noqa: PLR0124
