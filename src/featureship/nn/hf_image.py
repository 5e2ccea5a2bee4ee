"""A local Hugging Face image model (ResNet, ViT, ConvNeXt, ...) as a feature backbone.

Only folders on disk are accepted (`local_files_only`): nothing is downloaded at run time.
The architecture is rebuilt at load from the `config.json` the bundle keeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from featureship.errors import SettingsError


class HFImageBackbone(nn.Module):
    """(B, C, H, W) normalised pixels → (B, D) pooled features from a transformers vision model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        config = model.config
        self.in_channels = int(getattr(config, "num_channels", 3))
        size = getattr(config, "image_size", None)
        self.native_size = int(size if isinstance(size, int) else size[0]) if size else None
        with torch.no_grad():
            probe = torch.zeros(1, self.in_channels, self.native_size or 64, self.native_size or 64)
            self.feature_dim = int(self._pool(model.eval()(pixel_values=probe)).shape[-1])

    @staticmethod
    def _pool(outputs: Any) -> torch.Tensor:
        pooled = getattr(outputs, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)  # ResNet: (B, C, 1, 1) → (B, C)
        hidden = outputs.last_hidden_state
        return hidden[:, 0] if hidden.ndim == 3 else hidden.mean(dim=(2, 3))  # ViT: [CLS]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self._pool(self.model(pixel_values=x))  # (B, D)


def load_hf_backbone(folder: str | Path) -> tuple[HFImageBackbone, dict[str, Any]]:
    """The model in `folder` (config.json + weights) and its image normalisation (mean, std)."""
    from transformers import AutoModel

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise SettingsError(
            f"--backbone {folder}: no config.json there. Give a local Hugging Face image-model "
            "folder (one written by save_pretrained), or leave --backbone out for EfficientNet-Lite0."
        )
    try:
        model = AutoModel.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # unknown architecture, missing weights: say which folder
        raise SettingsError(f"--backbone {folder}: cannot load it as a transformers model ({exc}).") from exc
    return HFImageBackbone(model), read_normalisation(folder)


def read_normalisation(folder: Path) -> dict[str, Any]:
    """image_mean / image_std from preprocessor_config.json; 0.5 / 0.5 when it has none."""
    processor = folder / "preprocessor_config.json"
    mean, std = [0.5], [0.5]
    if processor.is_file():
        raw = json.loads(processor.read_text(encoding="utf-8"))
        mean, std = raw.get("image_mean", mean), raw.get("image_std", std)
    return {"scale": 255.0, "mean": list(map(float, mean)), "std": list(map(float, std))}


def hf_from_config(config_dir: Path) -> HFImageBackbone:
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(config_dir, local_files_only=True)
    return HFImageBackbone(AutoModel.from_config(config))
