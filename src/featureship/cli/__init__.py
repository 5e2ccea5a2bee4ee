"""The `featureship` command: a thin Typer front over the Python API, printing with rich.

`train TASK` commands live in their own modules (`cli/train_*.py`) and register on the apps
defined in `_common`; every other command is task-agnostic. User mistakes
(`FeatureshipError`) exit 2 with the message.
"""

from __future__ import annotations

import sys

import typer

from featureship.cli import commands as _commands  # noqa: F401  (evaluate, predict, serve, demo)
from featureship.cli import endpoint_calls as _endpoint_calls  # noqa: F401  (recommend, similar, ask)
from featureship.cli import explain as _explain  # noqa: F401  (explain)
from featureship.cli import export as _export  # noqa: F401  (export)
from featureship.cli import knowledge_base as _knowledge_base  # noqa: F401  (kb add, kb update)
from featureship.cli import monitor as _monitor  # noqa: F401  (monitor)
from featureship.cli import privacy as _privacy  # noqa: F401  (sign, verify, keygen)
from featureship.cli import train_answer_retrieval as _train_answer_retrieval  # noqa: F401
from featureship.cli import train_image as _train_image  # noqa: F401
from featureship.cli import train_recommendation as _train_recommendation  # noqa: F401
from featureship.cli import train_tabular as _train_tabular  # noqa: F401
from featureship.cli import train_text as _train_text  # noqa: F401
from featureship.cli._common import app, train_app

__all__ = ["app", "train_app", "main"]


def main() -> None:
    from featureship.errors import FeatureshipError

    try:
        app(standalone_mode=True)
    except FeatureshipError as exc:  # pragma: no cover - app handles; belt and braces
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
