"""One generic torch training loop: epochs, validation, early stopping, checkpoints/resume."""

from featureship.training.loop import LoopResult, LoopSettings, fit_loop

__all__ = ["LoopResult", "LoopSettings", "fit_loop"]
