"""The server's settings, set from `featureship serve` flags (--max-batch, --max-batch-size, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from featureship.endpoints import Limits
from featureship.errors import SettingsError


@dataclass(frozen=True)
class ServerSettings:
    """Limits that protect the server (oversized requests get 413, a full queue 503), how
    concurrent requests are batched, and the API keys that guard /v1 and /metrics.

    Example: ``ServerSettings(max_batch=64, max_text_chars=5_000, max_queue=32,
    max_batch_size=32, max_latency_ms=5)``.
    """

    max_batch: int = 256
    max_text_chars: int = 20_000
    # Requests that may wait for one busy model; above it the server answers 503 + Retry-After,
    # so a burst cannot pile up unbounded work and memory.
    max_queue: int = 64
    max_image_bytes: int = 10_000_000
    # Most inputs one forward pass gathers from concurrent requests (a single request larger
    # than this still runs, alone); 32 is where MiniLM on a CPU stops gaining throughput.
    max_batch_size: int = 32
    # Longest a request waits for others to join its batch; only spent while the server is
    # under concurrent load (see featureship.serving.worker), never for a lone request.
    max_latency_ms: int = 5
    # torch intra-op threads per model copy; 0 = one core for the event loop, the rest split
    # evenly between the copies (featureship.serving.worker.thread_plan).
    torch_threads: int = 0
    # copies of each model, one worker thread each; 0 = two when every model can have two
    # cores, else one (featureship.serving.worker.thread_plan).
    replicas: int = 0
    # Bearer keys required on /v1 routes and /metrics; empty = no authentication.
    # repr=False: settings get logged and printed, keys must never be.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    # featureship.privacy: the key of encrypted/signed bundles (never logged: its repr hides
    # the secret), and whether every text is PII-redacted before it reaches a model.
    bundle_key: Any = field(default=None, repr=False)
    redact_pii: bool = False

    def __post_init__(self) -> None:
        for flag, value, least in (
            ("--max-batch", self.max_batch, 1),
            ("--max-text-chars", self.max_text_chars, 1),
            ("--max-queue", self.max_queue, 1),
            ("--max-batch-size", self.max_batch_size, 1),
            ("--max-latency-ms", self.max_latency_ms, 0),
            ("--torch-threads", self.torch_threads, 0),
            ("--replicas", self.replicas, 0),
            ("--max-image-bytes", self.max_image_bytes, 1),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                what = "at least 1" if least else "zero or more"
                raise SettingsError(f"{flag} must be a whole number, {what}; got {value!r}.")

    @property
    def limits(self) -> Limits:
        return Limits(max_batch=self.max_batch, max_text_chars=self.max_text_chars,
                      max_image_bytes=self.max_image_bytes)
