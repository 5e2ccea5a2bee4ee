"""Typed errors that carry a fix-it message for the user.

Every mistake a user can make (a missing column, a tampered bundle, a bad request) raises a
subclass of `FeatureshipError`; the CLI prints its message and exits 2 instead of a traceback.
"""

from __future__ import annotations


class FeatureshipError(Exception):
    """A problem the user can fix; the message says what, where, and what to do."""


class DataError(FeatureshipError):
    """The user's data cannot be used as given (file, column, rows)."""


class BundleError(FeatureshipError):
    """A model bundle is missing, incomplete, tampered with, or not ours."""


class SettingsError(FeatureshipError):
    """An option or settings value is not allowed."""


class MissingExtraError(FeatureshipError):
    """An optional dependency is not installed; the message names the pip command."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed. "
            f"Install it with: pip install 'featureship[{extra}]'"
        )


def format_rows(rows: list[int], limit: int = 10) -> str:
    """Row numbers as a user sees them in a spreadsheet-like listing: '3, 7, 12 (and 4 more)'."""
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" (and {len(rows) - limit} more)" if len(rows) > limit else "")
