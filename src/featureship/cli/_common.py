"""Shared Typer apps, the error wrapper, and output helpers."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table as RichTable

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


def metrics_table(title: str, metrics: dict[str, Any]) -> RichTable:
    table = RichTable(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
        elif isinstance(value, (int, str)):
            table.add_row(key, str(value))
    return table
