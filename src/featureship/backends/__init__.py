"""Where work runs: `local` (this process, the default) or `ray` (a Ray cluster).

A task says what of it scales through `scaling` (a `Scaling`, or None: it runs locally only);
the CLI and the API check that once (`check_backend`) and never look at a task's name.

    backend = Backend("ray", address=None, workers=2)      # None: start a local cluster
    check_backend(task, settings, backend)                  # clear refusal, or nothing
    fitted = task.fit(table, settings, progress, backend=backend)

Ray is an extra (`pip install 'featureship[ray]'`), imported only when `ray` is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from featureship.errors import MissingExtraError, SettingsError

if TYPE_CHECKING:
    from featureship.tasks.base import Task

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Backend:
    """Which backend, and for `ray` which cluster and how many training workers."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = None  # a Ray cluster ("ray://head:10001", "auto"); None: RAY_ADDRESS or a local one
    workers: int = 2  # data-parallel training workers (one CPU or GPU each)

    @property
    def is_ray(self) -> bool:
        return self.kind == "ray"


@dataclass(frozen=True)
class Scaling:
    """What of a task runs on Ray: `training` names how it trains there (None: it does not),
    `modes` the settings it applies to as (setting, allowed values)."""

    training: str | None = None
    setting: str | None = None  # e.g. "mode": only some values of it train data-parallel
    allowed: tuple[str, ...] = ()


LOCAL = Backend()


def as_backend(kind: str | Backend | None, address: str | None = None, workers: int | None = None) -> Backend:
    """A `Backend` from the CLI/API spelling; refuses unknown names and silly worker counts."""
    if isinstance(kind, Backend):
        return kind
    kind = kind or "local"
    if kind not in BACKENDS:
        raise SettingsError(f"--backend '{kind}' is not known; use one of: {', '.join(BACKENDS)}.")
    if kind == "local" and (address is not None or workers is not None):
        raise SettingsError("--ray-address and --workers apply to --backend ray only; add --backend ray.")
    if workers is not None and workers < 1:
        raise SettingsError(f"--workers {workers}: give 1 or more workers.")
    return Backend(kind, address, workers if workers is not None else 2)  # type: ignore[arg-type]


def check_backend(task: Task, settings: Any, backend: Backend) -> None:
    """Refuse `--backend ray` for a task (or settings) that cannot train on it, naming what can."""
    if not backend.is_ray:
        return
    scaling: Scaling | None = getattr(task, "scaling", None)
    if scaling is None or scaling.training is None:
        raise SettingsError(
            f"{task.name} does not train on --backend ray: {supported_training()}. "
            f"Train {task.name} without --backend ray (its bundles can still predict with "
            "`featureship predict --backend ray` where the model reads tables)."
        )
    if scaling.setting is not None:
        value = getattr(settings, scaling.setting)
        if value not in scaling.allowed:
            raise SettingsError(
                f"{task.name} trains on --backend ray only with --{scaling.setting.replace('_', '-')} "
                f"{' or '.join(scaling.allowed)} ({scaling.training}); got '{value}'. Pass "
                f"--{scaling.setting.replace('_', '-')} {scaling.allowed[0]}, or drop --backend ray."
            )


def supported_training() -> str:
    """'a: how; b: how' for every registered task that trains on Ray (for refusals)."""
    from featureship.tasks import TASK_NAMES, get_task

    parts = []
    for name in TASK_NAMES:
        scaling = getattr(get_task(name), "scaling", None)
        if scaling is not None and scaling.training is not None:
            parts.append(f"{name} ({scaling.training})")
    return "tasks that do: " + ("; ".join(parts) if parts else "none")


def require_ray() -> Any:
    """The `ray` module, or a clear error with the install command."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError("ray", "ray", "--backend ray") from exc
    return ray


__all__ = ["BACKENDS", "LOCAL", "Backend", "Scaling", "as_backend", "check_backend", "require_ray"]
