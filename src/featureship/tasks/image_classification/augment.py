"""Training augmentation with plain tensor ops (torchvision cannot be installed beside the CPU
torch wheel here): one random affine per image — resized crop, small rotation, optional flip —
applied with `affine_grid` / `grid_sample`, so a whole batch is one call."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def augment(pixels: torch.Tensor, generator: torch.Generator, crop_scale: float = 0.8,
            rotation_degrees: float = 10.0, flip: bool = True) -> torch.Tensor:
    """(B, C, S, S) float pixels → the same shape, randomly cropped/rotated/flipped per image."""
    b = pixels.shape[0]
    area = torch.empty(b).uniform_(crop_scale, 1.0, generator=generator)
    # Aspect jitter up to 3:4..4:3, less when crops keep nearly everything (none at scale 1).
    jitter = math.log(4 / 3) * min(1.0, (1 - crop_scale) / 0.2)
    log_ratio = torch.empty(b).uniform_(-jitter, jitter, generator=generator)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)  # share of the width the crop keeps
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (1 - sx) * torch.empty(b).uniform_(-1, 1, generator=generator)  # crop stays inside
    ty = (1 - sy) * torch.empty(b).uniform_(-1, 1, generator=generator)
    angle = torch.empty(b).uniform_(-rotation_degrees, rotation_degrees, generator=generator) * math.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    mirror = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(b)
    theta = torch.stack([
        torch.stack([cos * sx * mirror, -sin * sy, tx], dim=1),
        torch.stack([sin * sx * mirror, cos * sy, ty], dim=1),
    ], dim=1)  # (B, 2, 3): output coords → input coords
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    # Pixels rotated in from outside take the border's value, not black (scans have white edges).
    return F.grid_sample(pixels, grid, mode="bilinear", padding_mode="border", align_corners=False)
