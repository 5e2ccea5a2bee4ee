"""One network shape for every candidate: pixels → normalise → backbone features → linear head.

`spec` (JSON, kept in the manifest) says which backbone, at what size and normalisation, so a
bundle's architecture is rebuilt from the manifest and this package alone, without network:

    {"arch": "residual-cnn" | "efficientnet-lite0" | "hf", "image_size": 32, "channels": 1,
     "normalisation": {"scale": 255.0, "mean": [..], "std": [..]}, "cnn": {...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from featureship.nn.efficientnet_lite import EfficientNetLite, EfficientNetLiteConfig
from featureship.nn.residual_cnn import ResidualCNN, ResidualCNNConfig

HF_CONFIG_DIR = "backbone"  # the bundle folder holding a Hugging Face backbone's config.json
LITE0_NORMALISATION = {"scale": 1.0, "mean": [127.0], "std": [128.0]}  # (x - 127) / 128


class ClassifierNet(nn.Module):
    """(B, C, S, S) float pixels in [0, 255] → (B, n_classes) logits."""

    def __init__(self, body: nn.Module, n_classes: int, normalisation: dict[str, Any],
                 body_channels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = body
        self.body_channels = body_channels
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(body.feature_dim, n_classes)
        mean = torch.tensor(normalisation["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(normalisation["std"], dtype=torch.float32).view(1, -1, 1, 1)
        self.scale = float(normalisation["scale"])
        # Not persistent: they come from the spec, so the weights file holds weights only.
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels
        if x.shape[1] == 1 and self.body_channels == 3:  # grayscale into an RGB backbone
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] == 3 and self.body_channels == 1:
            x = x.mean(dim=1, keepdim=True)
        return (x / self.scale - self.mean) / self.std  # (B, C_body, S, S)

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.body.features(self.normalise(pixels))  # (B, D)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(pixels)))  # (B, n_classes)


def build(spec: dict[str, Any], n_classes: int, bundle: Path | None = None,
          backbone: nn.Module | None = None) -> ClassifierNet:
    """The network `spec` describes (random or given backbone weights; the caller loads them)."""
    arch = spec["arch"]
    if arch == "residual-cnn":
        body: nn.Module = ResidualCNN(ResidualCNNConfig.from_dict(spec["cnn"]))
        channels = spec["channels"]
    elif arch == "efficientnet-lite0":
        body = backbone or EfficientNetLite(EfficientNetLiteConfig())
        channels = 3
    elif arch == "hf":
        from featureship.nn.hf_image import hf_from_config

        body = backbone or hf_from_config(bundle / HF_CONFIG_DIR)  # type: ignore[operator]
        channels = body.in_channels
    else:
        raise ValueError(f"unknown image backbone '{arch}'")
    if arch == "efficientnet-lite0" and hasattr(body, "_fc"):
        body._fc = nn.Identity()  # the ImageNet classifier is replaced by the task's head
    return ClassifierNet(body, n_classes, spec["normalisation"], channels)


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).float()  # (B, C, S, S) in [0, 255]


@torch.inference_mode()
def batched(fn, pixels: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """`fn` over (N, C, S, S) uint8 pixels in batches → stacked float32 numpy."""
    out = [fn(to_tensor(pixels[i : i + batch_size])).float().numpy() for i in range(0, len(pixels), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
