"""The Python API: `train()`, `load()`, `save()`; models are the tasks' own FittedModel classes.

    >>> model = featureship.train("text-classification", data="train.csv", text_column="text",
    ...                           label_column="intent", output="intent-model")
    >>> model.predict(["I lost my card"])[0]["label"]
    'lost_or_stolen_card'
    >>> featureship.load("intent-model").evaluate("holdout.csv")["accuracy"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from featureship.artifacts import (
    check_output_folder,
    load_pinned,
    output_lock,
    read_manifest,
    write_bundle,
)
from featureship.backends import Backend, as_backend, check_backend
from featureship.config import build_settings
from featureship.data.readers import as_frame
from featureship.errors import BundleError, FeatureshipError, SettingsError
from featureship.privacy.keys import BundleKey, as_key
from featureship.progress import Reporter, silent
from featureship.tasks import get_task
from featureship.tasks.base import DataSource, FittedModel

# Kept for imports written against the first API; every model is a FittedModel.
Model = FittedModel


def train(
    task: str,
    data: DataSource,
    output: str | Path,
    validation: DataSource | None = None,
    progress: Reporter | None = None,
    overwrite: bool = False,
    encrypt_key: BundleKey | str | bytes | None = None,
    backend: str | Backend = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    track: str | None = None,
    **settings: Any,
) -> FittedModel:
    """Train a model for `task` on `data`, write the bundle to `output`, and return it loaded.

    Settings are the task's (see `featureship train TASK --help`), e.g.
    ``text_column="text", label_column="intent", mode="head", seed=0``. An existing bundle at
    `output` is replaced only with ``overwrite=True``; two runs into one `output` at once are
    refused.

    With `encrypt_key` (a `BundleKey`, e.g. `key_from_env("FS_KEY")`, or the secret itself)
    every file of the bundle is AES-GCM encrypted and the manifest authenticated; nothing is
    cached next to it (no plaintext embeddings or checkpoints in OUTPUT.run), so `resume` is
    refused. Load it with ``load(output, key=...)``.

    ``backend="ray"`` trains where the task scales (see `featureship.backends`) on `workers`
    Ray Train workers of the cluster at `ray_address` (default: $RAY_ADDRESS, else a local
    one); the bundle is written here, by this process, exactly as locally. ``track=URI`` (an
    MLflow tracking URI: a folder, ``sqlite:///runs.db``, a server) logs the run there; the
    returned model's `tracking_run_id` names it.
    """
    impl = get_task(task)
    chosen = as_backend(backend, ray_address, workers)
    output = Path(output)
    key = as_key(encrypt_key)
    if key is not None:
        key.check_usable()
    parsed = build_settings(impl.settings_class, settings, source=f"{task} settings")
    if key is not None and getattr(parsed, "resume", False):
        raise SettingsError("--resume reads checkpoints kept next to the bundle; an encrypted run keeps "
                            "none (they would be plaintext). Drop --resume or --encrypt-key-env.")
    check_backend(impl, parsed, chosen)
    check_output_folder(output, overwrite)
    reporter = progress or silent()
    run = None
    if track is not None:
        from featureship.tracking import TrackedRun

        run = TrackedRun(track, task, parsed.model_dump(mode="json"), {"featureship.backend": chosen.kind})
        run.attach(reporter)
    try:
        with output_lock(output):
            _fit_and_save(impl, parsed, data, validation, output, reporter, overwrite, key, chosen)
        model = load(output, key=key)
    except BaseException as exc:
        if run is not None:
            run.fail(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if run is not None:
            reporter.metric_listeners.remove(run.log_epoch)
    if run is not None:
        run.finish(model)
        model.tracking_run_id = run.run_id
    return model


def _fit_and_save(impl: Any, parsed: Any, data: DataSource, validation: DataSource | None, output: Path,
                  reporter: Reporter, overwrite: bool, key: BundleKey | None, backend: Backend) -> None:
    # A task may read its own kind of data (a folder of images); tables are the default.
    read = getattr(impl, "read_data", as_frame)
    train_table = read(data)
    valid_table = read(validation) if validation is not None else None
    # only tasks that scale take a backend (check_backend refused the others)
    extra = {"backend": backend} if backend.is_ray else {}
    # encrypted: no run folder for caches or checkpoints, which would hold plaintext
    fitted = impl.fit(train_table, parsed, reporter, validation=valid_table,
                      output=None if key is not None else output, **extra)
    save(fitted, output, overwrite=overwrite, key=key)


def save(model: FittedModel, output: str | Path, overwrite: bool = False,
         key: BundleKey | str | bytes | None = None) -> Path:
    """Write `model` as a bundle at `output` (atomically; its report is rebuilt from it).

    With `key`, the bundle is encrypted (see `train`).
    """
    from featureship.evaluation.report import bundle_report

    output = Path(output).resolve()
    def write_files(directory: Path) -> None:
        model.save(directory)
        if model.reference_profile is not None:  # the drift monitor's reference, for any task
            model.reference_profile.save(directory)

    manifest = write_bundle(output, model.describe(), write_files,
                            report=lambda final: bundle_report(model, final, output.name),
                            overwrite=overwrite, key=as_key(key))
    model.manifest, model.path = manifest, output
    return output


def load(directory: str | Path, key: BundleKey | str | bytes | None = None) -> FittedModel:
    """Load a bundle after verifying every file's sha256; never executes stored code.

    `key` (a `BundleKey`, e.g. `key_from_env("FS_KEY")`, or the secret) is required for an
    encrypted bundle, and checks a signed one's signature; a wrong key or any edited file,
    the manifest included, is refused with a message.
    """
    bundle_key = as_key(key)
    return load_pinned(Path(directory), lambda d: _load(d, bundle_key))


def _load(directory: Path, key: BundleKey | None = None) -> FittedModel:
    manifest = read_manifest(directory, key=key)
    impl = get_task(manifest.task)
    protection = manifest.protection or {}
    if protection.get("encrypted"):
        return _load_encrypted(directory, manifest, key)
    return _load_plain(directory, manifest, impl)


def _load_encrypted(directory: Path, manifest: Any, key: BundleKey | None) -> FittedModel:
    """Decrypt into a private memory-backed folder, load from it, remove it before returning."""
    from featureship.privacy.sealing import decrypted, missing_key_message

    if key is None:
        raise BundleError(missing_key_message(directory, manifest.protection))
    keys = key.derive(manifest.protection["kdf"])
    # the files and protection block come from the manifest whose MAC was just checked
    with decrypted(directory, manifest.files, manifest.protection, keys) as plain:
        return _load_plain(plain, manifest, get_task(manifest.task), bundle=directory)


def _load_plain(directory: Path, manifest: Any, impl: Any, bundle: Path | None = None) -> FittedModel:
    bundle = bundle or directory
    try:
        fitted = impl.model_class.load(directory, manifest)
    except FeatureshipError as exc:
        if bundle != directory:  # name the bundle, not the private folder it was decrypted into
            raise BundleError(str(exc).replace(str(directory), str(bundle))) from None
        raise
    except Exception as exc:  # a corrupt config or weights that do not fit: name the bundle
        raise BundleError(
            f"{bundle}: the bundle cannot be loaded ({type(exc).__name__}: {exc}). It may be "
            "damaged or written by an incompatible version; retrain or restore it."
        ) from exc
    fitted.manifest, fitted.path = manifest, bundle
    from featureship.monitoring.profile import ReferenceProfile

    fitted.reference_profile = ReferenceProfile.load(directory)  # the decrypted copy, if sealed
    return fitted
