"""The `featureship` command: a thin Typer front over the Python API, printing with rich.

Task-specific commands live in their own modules (`cli/text.py`, `cli/recommend.py`) and
register on the apps defined here; user mistakes (`FeatureshipError`) exit 2 with the message.
"""

from __future__ import annotations

import sys

import typer

from featureship.cli import commands as _commands  # noqa: F401  (registers evaluate/predict/serve/demo)
from featureship.cli import text as _text  # noqa: F401  (registers train text-classification)
from featureship.cli._common import app, train_app

try:  # the recommendation CLI registers itself when its module exists
    from featureship.cli import recommend as _recommend  # noqa: F401
except ImportError:  # pragma: no cover
    pass

__all__ = ["app", "train_app", "main"]


def main() -> None:
    from featureship.errors import FeatureshipError

    try:
        app(standalone_mode=True)
    except FeatureshipError as exc:  # pragma: no cover - app handles; belt and braces
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
