"""Connecting to a Ray cluster, or starting a local one when none is given (and saying so)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from featureship.backends import Backend, require_ray
from featureship.errors import SettingsError
from featureship.progress import Reporter

# Ray must never phone home or open a dashboard from a user's run (offline by design).
_QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
              "RAY_TRAIN_V2_ENABLED": "1"}


@contextmanager
def ray_cluster(backend: Backend, progress: Reporter) -> Iterator[Any]:
    """`ray`, connected for the duration: to `backend.address`, to $RAY_ADDRESS, to a cluster
    this process already joined, or else to a new local one (shut down again on exit)."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    ray = require_ray()
    if ray.is_initialized():  # the caller manages its own connection (notebooks, tests)
        yield ray
        return
    address = backend.address or os.environ.get("RAY_ADDRESS") or None
    # Workers import featureship from the same source as the driver (an editable checkout too).
    runtime_env = {"env_vars": {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
            progress.info(f"Ray: connected to the cluster at {address} "
                          f"({int(ray.cluster_resources().get('CPU', 0))} CPUs)")
        else:
            ray.init(include_dashboard=False, runtime_env=runtime_env, log_to_driver=False)
            progress.note(f"no Ray cluster given (--ray-address or RAY_ADDRESS): started a local one "
                          f"on this machine with {int(ray.cluster_resources().get('CPU', 0))} CPUs")
    except ConnectionError as exc:
        raise SettingsError(f"--ray-address {address}: cannot reach a Ray cluster there ({exc}). Check "
                            "the address (`ray status` on the head node prints it), or drop "
                            "--ray-address to run on a local cluster.") from exc
    try:
        yield ray
    finally:
        ray.shutdown()
