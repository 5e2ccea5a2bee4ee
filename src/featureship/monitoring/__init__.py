"""Reference profiles of training inputs and drift tests against them (serving and `monitor`).

    profile = model.reference_profile            # stored in the bundle: profile.safetensors + .json
    monitor = LiveMonitor.for_model(model)       # None when the bundle has no profile
    monitor.observe(inputs, outputs); monitor.verdict()
    offline_verdict(model, table)                # `featureship monitor DIR --data new.csv`

A profile holds features of a sample of inputs (embeddings, or table columns) and label
frequencies, never raw inputs.
"""

from featureship.monitoring.detector import DriftDetector
from featureship.monitoring.profile import (
    PROFILE_ARRAYS,
    PROFILE_META,
    ReferenceProfile,
    build_profile,
)

__all__ = ["PROFILE_ARRAYS", "PROFILE_META", "DriftDetector", "ReferenceProfile", "build_profile"]
