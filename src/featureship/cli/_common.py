"""Shared Typer apps, the error wrapper, and output helpers."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from featureship.tasks.base import FittedModel

app = typer.Typer(
    name="featureship",
    help="Turn your own data into a served AI feature: data → train → evaluate → explain → serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train a model for a task and write a bundle folder.", no_args_is_help=True)
app.add_typer(train_app, name="train")

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

# Privacy options shared by every command that writes or reads bundles (featureship.privacy).
EncryptKeyEnv = Annotated[str | None, typer.Option(
    "--encrypt-key-env", help="Encrypt the bundle (AES-256-GCM) under the key in this environment "
    "variable: a 32-byte key in hex/base64 (`featureship keygen`) or a passphrase of 12+ characters.")]
KeyEnv = Annotated[str | None, typer.Option(
    "--key-env", help="Environment variable holding the bundle's key (encrypted or signed bundles).")]
RedactPii = Annotated[bool, typer.Option(
    "--redact-pii", help="Replace e-mails, phones, cards, IBANs, IPs, credential URLs and national "
    "ids with <TYPE> placeholders before text reaches the model.")]

# Where `train` and `predict` run, and where `train` is tracked (featureship.backends, .tracking).
BackendOpt = Annotated[str, typer.Option(
    "--backend", help="local (this process) or ray: data-parallel training / Ray Data batch "
    "prediction on a Ray cluster (`pip install 'featureship\\[ray]'`).")]
RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="Ray cluster to join (e.g. ray://head:10001 or auto); default $RAY_ADDRESS, "
    "else a local cluster is started.")]
Workers = Annotated[int | None, typer.Option(
    "--workers", help="--backend ray: training workers or prediction actors (default 2).")]
Track = Annotated[str | None, typer.Option(
    "--track", help="MLflow tracking URI (a folder, sqlite:///runs.db, a server): log settings, "
    "per-epoch and final metrics, report and bundle (`pip install 'featureship\\[track]'`).")]


def scale_options(backend: str, ray_address: str | None, workers: int | None, track: str | None) -> dict[str, Any]:
    """The keyword arguments of `featureship.train` for the shared backend/tracking options."""
    return {"backend": backend, "ray_address": ray_address, "workers": workers, "track": track}


def bundle_key(key_env: str | None, flag: str = "--key-env") -> Any:
    """The BundleKey named by a --key-env/--encrypt-key-env option (None when not given)."""
    from featureship.privacy.keys import key_from_env

    return key_from_env(key_env, flag)


def user_errors(func: F) -> F:
    """Turn a `FeatureshipError` into 'error: ...' on stderr and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from featureship.errors import FeatureshipError

        try:
            return func(*args, **kwargs)
        except FeatureshipError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else (safe to pipe into jq)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def show_training_summary(model: FittedModel) -> None:
    """The end of every `featureship train`: candidates, headline numbers, where things are."""
    from featureship.evaluation.tables import candidates_table, metrics_table

    manifest = model.describe()
    if manifest.candidates:
        console.print(candidates_table(manifest, type(model).candidate_columns).to_rich())
    data = manifest.data
    summary: dict[str, Any] = {**manifest.metrics, "train rows": data.train_rows,
                               "validation rows": data.validation_rows}
    if data.skipped_rows:
        summary["skipped rows"] = data.skipped_rows
    if "seconds_total" in manifest.training:
        summary["seconds"] = manifest.training["seconds_total"]
    privacy = manifest.privacy or {}
    for kind, count in (privacy.get("pii_redaction") or {}).get("counts", {}).items():
        summary[f"redacted {kind}"] = count
    if "epsilon" in privacy:
        summary["DP epsilon (spent)"] = privacy["epsilon"]
    table = metrics_table(f"{model.name}: {manifest.chosen or manifest.task}", summary)
    table.caption = f"metrics on: {manifest.metrics_on}"
    console.print(table.to_rich())
    console.print(f"bundle: [bold]{model.path}[/]  report: {model.path / 'report.html'}")
    if model.tracking_run_id is not None:
        console.print(f"MLflow run id: [bold]{model.tracking_run_id}[/]")
    if manifest.protection:
        console.print(f"encrypted under the key in ${manifest.protection.get('key_env')}; load it "
                      f"with --key-env {manifest.protection.get('key_env')}")
