"""The server's limits, set from `featureship serve --max-batch/--max-text-chars`."""

from __future__ import annotations

from dataclasses import dataclass

from featureship.errors import SettingsError

# Ranking more than this many items per request is never what a product page needs, and the
# cost grows with k; above it the request is refused (422) instead of tying up a worker.
MAX_K = 1000
# Longest `history` a recommend request may carry (a sanity bound, not a tuning knob).
MAX_HISTORY = 10_000


@dataclass(frozen=True)
class ServerSettings:
    """Limits that protect the server from oversized requests (answered with 413).

    Example: ``ServerSettings(max_batch=64, max_text_chars=5_000)``.
    """

    max_batch: int = 256
    max_text_chars: int = 20_000

    def __post_init__(self) -> None:
        for flag, value in (
            ("--max-batch", self.max_batch),
            ("--max-text-chars", self.max_text_chars),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SettingsError(f"{flag} must be a whole number of at least 1; got {value!r}.")
