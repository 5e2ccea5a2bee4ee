"""The model bundle on disk: a folder of JSON + safetensors with a checksummed manifest.

    bundle/
      manifest.json        task, format version, settings, schema, labels, metrics,
                           library versions, data fingerprint, sha256 of every other file
      weights.safetensors  (and whatever else the task writes: tokenizer files, vocab JSON)
      metrics.json, report.html

Writes are atomic: everything goes into a temporary sibling folder that is renamed into
place at the end, so an interrupted run never leaves half a bundle. Loading verifies every
checksum first and never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from featureship.errors import BundleError

FORMAT_VERSION = 1
FORMAT_NAME = "featureship-bundle"
# Bundles written before the rename (the project was called modelship) still load; new ones
# are always written under FORMAT_NAME.
LEGACY_FORMAT_NAMES = ("modelship-bundle",)
MANIFEST = "manifest.json"
_RUN_FOLDER_SUFFIX = ".run"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("featureship", "torch", "transformers", "scikit-learn", "numpy", "pandas", "implicit"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def is_bundle(directory: Path) -> bool:
    """A folder we wrote: its manifest.json parses and says so (a web app's manifest does not)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") in (FORMAT_NAME, *LEGACY_FORMAT_NAMES)


def check_output_folder(output: Path) -> None:
    """Refuse to train into a non-empty folder that is not a featureship bundle (never clobber)."""
    if output.exists() and not output.is_dir():
        raise BundleError(f"--output {output} is a file; give a folder path for the model bundle.")
    if output.is_dir() and any(output.iterdir()) and not is_bundle(output):
        raise BundleError(
            f"--output {output} is a non-empty folder that is not a featureship bundle; "
            "refusing to write into it so nothing of yours is overwritten. "
            "Choose a new folder name or empty this one."
        )


def run_folder(output: Path) -> Path:
    """Scratch space next to the bundle for caches and checkpoints (kept for --resume)."""
    output = Path(output).resolve()
    return output.with_name(output.name + _RUN_FOLDER_SUFFIX)


def write_bundle(
    output: Path,
    manifest: dict[str, Any],
    write_files: Callable[[Path], None],
) -> Path:
    """Write a bundle atomically: `write_files(tmp)` fills a temp folder, we checksum and swap it in.

    `manifest` holds the task's fields (task, settings, labels, metrics, ...); the format
    version, creation time, library versions and file checksums are added here.
    """
    output = Path(output).resolve()
    check_output_folder(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a serving account must be able to read it
    try:
        write_files(tmp)
        files = {
            p.relative_to(tmp).as_posix(): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        full = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            **manifest,
            "libraries": library_versions(),
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, default=_json_default) + "\n",
                                    encoding="utf-8")
        if output.exists():  # an older bundle of ours: swap, then delete the old one
            old = output.with_name(f".{output.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(output, old)
            os.replace(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output


def read_manifest(directory: str | Path, verify: bool = True) -> dict[str, Any]:
    """Read `manifest.json` and check every listed file's sha256; raise naming the bad file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(f"{directory}: no such model folder. Train one with `featureship train`.")
    path = directory / MANIFEST
    if not path.is_file():
        raise BundleError(f"{directory} is not a featureship bundle: manifest.json is missing.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); the bundle is damaged.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT_NAME, *LEGACY_FORMAT_NAMES):
        raise BundleError(f"{path} is not a featureship manifest.")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError(
            f"{directory} was written by a newer featureship (bundle format "
            f"{manifest['format_version']}); upgrade featureship to load it."
        )
    if verify:
        verify_files(directory, manifest)
    return manifest


def verify_files(directory: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{directory}/manifest.json lists no files; the bundle is incomplete.")
    listed = set(files) | {MANIFEST}
    extra = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                   if p.is_file() and p.relative_to(directory).as_posix() not in listed)
    if extra:
        raise BundleError(
            f"{directory} holds file(s) that manifest.json does not list: {', '.join(extra[:5])}. "
            "Something was added after training; remove it or retrain."
        )
    for name, expected in files.items():
        target = directory / name
        if not target.resolve().is_relative_to(directory.resolve()):
            raise BundleError(f"{directory}/manifest.json names a file outside the bundle: {name}")
        if not target.is_file():
            raise BundleError(f"{directory} is incomplete: {name} is missing.")
        if sha256_file(target) != expected:
            raise BundleError(
                f"{directory}/{name} does not match its sha256 in manifest.json: the file was "
                "changed or damaged after training. Refusing to load; retrain or restore the bundle."
            )


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    # numpy scalars and paths show up in metrics and settings
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
