"""A compact residual CNN trained from scratch: for small images such as scans and digits.

Three stages of basic residual blocks (conv-BN-ReLU-conv-BN + shortcut), each halving the
resolution after the first, then global average pooling; the task puts its linear head on top
(the same head every backbone gets, so training, saving and explaining have one path).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class ResidualCNNConfig:
    in_channels: int = 1
    widths: tuple[int, ...] = (32, 64, 128)
    blocks_per_stage: int = 1

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, raw: dict) -> ResidualCNNConfig:
        return cls(**{**raw, "widths": tuple(raw["widths"])})


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:  # 1x1 projection when the shape changes
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))  # (B, C_out, H/s, W/s)
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResidualCNN(nn.Module):
    """(B, C_in, H, W) normalised pixels → (B, C_last) pooled features."""

    def __init__(self, config: ResidualCNNConfig) -> None:
        super().__init__()
        self.config = config
        w0 = config.widths[0]
        self.stem = nn.Sequential(nn.Conv2d(config.in_channels, w0, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(w0), nn.ReLU(inplace=True))
        layers, c_in = [], w0
        for stage, width in enumerate(config.widths):
            for block in range(config.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(c_in, width, stride))
                c_in = width
        self.blocks = nn.Sequential(*layers)
        self.feature_dim = c_in

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))  # (B, C_last, H/4, W/4)
        return x.mean(dim=(2, 3))  # (B, C_last)
