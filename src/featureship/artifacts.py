"""The model bundle on disk: a folder of JSON + safetensors with a checksummed manifest.

    bundle/
      manifest.json        one shape for every task (featureship.manifest.Manifest) plus the
                           format version, library versions and the sha256 of every other file
      weights.safetensors  (and whatever else the task writes: tokenizer files, vocab JSON)
      metrics.json, report.html

Writes are atomic: everything goes into a temporary sibling folder that replaces the old
bundle in one step (an atomic exchange where the OS has one), so an interrupted run never
leaves half a bundle and a reader never sees none. Loading verifies every checksum first and
never unpickles anything. Checksums catch damage, not a deliberate edit of a file and its hash
together: signing is a separate guard.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from featureship.errors import BundleError, SettingsError
from featureship.manifest import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LEGACY_FORMAT_NAMES,
    Manifest,
    upgrade,
)

if TYPE_CHECKING:
    from featureship.privacy.keys import BundleKey

MANIFEST = "manifest.json"
REPORT = "report.html"
_RUN_FOLDER_SUFFIX = ".run"
_LIBRARIES = ("featureship", "torch", "transformers", "scikit-learn", "numpy", "pandas", "implicit")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def _raw_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def is_bundle(directory: Path) -> bool:
    """A folder we wrote: its manifest.json parses and says so (a web app's manifest does not)."""
    raw = _raw_manifest(directory)
    return raw is not None and raw.get("format") in (FORMAT_NAME, *LEGACY_FORMAT_NAMES)


def refuse_output_over_input(output: Path | None, data: Path | None, what: str = "file") -> None:
    """--output must not be the --data it is computed from: the user's input is never replaced."""
    if output is not None and data is not None and output.resolve() == data.resolve():
        raise SettingsError(f"--output {output} is the input {what}; choose another name so your data is kept.")


def check_output_folder(output: Path, overwrite: bool = False) -> None:
    """Refuse to write over anything: a file, a foreign folder, or a bundle without `overwrite`."""
    if output.exists() and not output.is_dir():
        raise BundleError(f"--output {output} is a file; give a folder path for the model bundle.")
    if not output.is_dir() or not any(output.iterdir()):
        return
    if not is_bundle(output):
        raise BundleError(
            f"--output {output} is a non-empty folder that is not a featureship bundle; "
            "refusing to write into it so nothing of yours is overwritten. "
            "Choose a new folder name or empty this one."
        )
    if not overwrite:
        raw = _raw_manifest(output) or {}
        raise BundleError(
            f"--output {output} already holds a model bundle ({raw.get('task', '?')}, created "
            f"{raw.get('created', '?')}). Pass --overwrite to replace it, or choose a new folder."
        )


def run_folder(output: Path) -> Path:
    """Scratch space next to the bundle for caches, checkpoints and the lock (kept for --resume)."""
    output = Path(output).resolve()
    return output.with_name(output.name + _RUN_FOLDER_SUFFIX)


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold `output` for one training run; a second run into it is refused, naming the holder.

    An advisory `flock` on OUTPUT.run/lock: the kernel drops it when the holder exits, so a
    killed run never leaves a lock that blocks the next one.
    """
    import fcntl

    folder = run_folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lock"
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SettingsError(
                f"--output {Path(output).resolve()} is being written by another training run "
                f"({holder}). Wait for it to finish, or choose another --output."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


def write_bundle(
    output: Path,
    manifest: Manifest,
    write_files: Callable[[Path], None],
    report: Callable[[Manifest], str] | None = None,
    overwrite: bool = False,
    key: BundleKey | None = None,
) -> Manifest:
    """Write a bundle atomically and return its final manifest.

    `write_files(tmp)` fills a temporary folder; `report(manifest)` (optional) renders
    report.html from the finished manifest; then checksums are taken, the manifest written,
    and the folder swapped in. With `key`, every file but the manifest is AES-GCM encrypted
    and the manifest authenticated (featureship.privacy.sealing).
    """
    output = Path(output).resolve()
    check_output_folder(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        final = manifest.model_copy(update={
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "protection": None,  # a re-saved model gets a fresh block (or none)
        })
        if key is not None:
            final = _write_encrypted(tmp, final, write_files, report, key)
            tmp.chmod(0o755)
            _swap_in(tmp, output)
            return final
        tmp.chmod(0o755)  # mkdtemp makes it private; a serving account must be able to read it
        write_files(tmp)
        if report is not None:
            (tmp / REPORT).write_text(report(final), encoding="utf-8")
        final.files = {
            p.relative_to(tmp).as_posix(): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        write_json(tmp / MANIFEST, final.model_dump(mode="json"))
        _swap_in(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_encrypted(tmp: Path, final: Manifest, write_files: Callable[[Path], None],
                     report: Callable[[Manifest], str] | None, key: BundleKey) -> Manifest:
    """Plaintext goes to a private memory-backed folder only; `tmp` receives ciphertext."""
    from featureship.privacy.sealing import (
        encrypt_file,
        new_protection,
        private_folder,
        seal_manifest,
    )

    block, keys = new_protection(key, encrypted=True)
    with private_folder() as plain:
        write_files(plain)
        if report is not None:
            (plain / REPORT).write_text(report(final), encoding="utf-8")
        names = [p.relative_to(plain).as_posix() for p in sorted(plain.rglob("*"))
                 if p.is_file() and p.name != MANIFEST]
        for name in names:
            encrypt_file(plain / name, tmp / name, name, block, keys)
    final.files = {name: sha256_file(tmp / name) for name in names}
    raw = json.loads(json.dumps(final.model_dump(mode="json"), default=_json_default))
    raw = seal_manifest({**raw, "protection": block}, keys)
    write_json(tmp / MANIFEST, raw)
    return Manifest.model_validate(raw)


def _swap_in(tmp: Path, output: Path) -> None:
    """Put `tmp` at `output`; an existing bundle is exchanged in one step where possible."""
    if not output.exists():
        os.replace(tmp, output)
        return
    if not _exchange(tmp, output):
        # No atomic exchange here: rename the old bundle aside under a unique name first.
        # Readers read again when the folder changes under them (see `load_pinned`).
        aside = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
        os.replace(output, aside / "bundle")
        os.replace(tmp, output)
        tmp = aside
    shutil.rmtree(tmp, ignore_errors=True)  # after an exchange, tmp holds the old bundle


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def read_manifest(directory: str | Path, verify: bool = True, key: BundleKey | None = None) -> Manifest:
    """Read `manifest.json` (upgrading older formats) and check every file's sha256.

    With `key`, the manifest's MAC is checked too (a signed or encrypted bundle); a bundle
    that is neither is refused, since the key could not vouch for it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(f"{directory}: no such model folder. Train one with `featureship train`.")
    path = directory / MANIFEST
    if not path.is_file():
        raise BundleError(f"{directory} is not a featureship bundle: manifest.json is missing.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); the bundle is damaged.") from exc
    if not isinstance(raw, dict) or raw.get("format") not in (FORMAT_NAME, *LEGACY_FORMAT_NAMES):
        raise BundleError(f"{path} is not a featureship manifest.")
    version = raw.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(
            f"{directory} was written by a newer featureship (bundle format {version}); "
            "upgrade featureship to load it."
        )
    if key is not None:
        from featureship.privacy.sealing import authenticate

        authenticate(raw, key, directory)
    try:
        manifest = Manifest.model_validate(upgrade(raw))
    except (ValidationError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{path} does not have the shape of a bundle manifest ({exc}); "
                          "the bundle is damaged. Retrain or restore it.") from None
    if verify:
        verify_files(directory, manifest)
    return manifest


def verify_files(directory: Path, manifest: Manifest) -> None:
    files = manifest.files
    if not files:
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


def load_pinned(directory: Path, load: Callable[[Path], Any], attempts: int = 20) -> Any:
    """Run `load(directory)` so that it reads one bundle, even while a writer replaces it.

    Every replacement puts a new folder at the path (a new inode and modification time; the
    time too, since a deleted folder's inode number can be reused at once), so a load that saw
    the same folder before and after read one bundle only; otherwise it reads again.
    """
    def identity() -> tuple[int, int] | None:
        try:
            stat = os.stat(directory)
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    for _ in range(attempts):
        before = identity()
        try:
            result = load(directory)
        except (BundleError, OSError):
            if before is not None and identity() == before:
                raise  # nothing changed underneath: a real problem with the bundle
        else:
            if before is not None and identity() == before:
                return result
        time.sleep(0.02)  # replaced while it was being read: read the new one
    return load(directory)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    # numpy scalars and paths show up in metrics and settings
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
