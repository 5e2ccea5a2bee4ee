"""The server's limits, set from `featureship serve --max-batch/--max-text-chars/--max-queue`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from featureship.endpoints import Limits
from featureship.errors import SettingsError


@dataclass(frozen=True)
class ServerSettings:
    """Limits that protect the server: oversized requests get 413, a full queue 503.

    Example: ``ServerSettings(max_batch=64, max_text_chars=5_000, max_queue=32)``.
    """

    max_batch: int = 256
    max_text_chars: int = 20_000
    # Requests that may wait for one busy model; above it the server answers 503 + Retry-After,
    # so a burst cannot pile up unbounded work and memory.
    max_queue: int = 64
    # featureship.privacy: the key of encrypted/signed bundles (never logged: its repr hides
    # the secret), and whether every text is PII-redacted before it reaches a model.
    bundle_key: Any = field(default=None, repr=False)
    redact_pii: bool = False

    def __post_init__(self) -> None:
        for flag, value in (
            ("--max-batch", self.max_batch),
            ("--max-text-chars", self.max_text_chars),
            ("--max-queue", self.max_queue),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SettingsError(f"{flag} must be a whole number of at least 1; got {value!r}.")

    @property
    def limits(self) -> Limits:
        return Limits(max_batch=self.max_batch, max_text_chars=self.max_text_chars)
