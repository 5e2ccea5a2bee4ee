"""Saliency maps with captum's integrated gradients (an `explain` extra, imported lazily).

The attributed quantity is the predicted class's probability; the baseline is a black image,
so by completeness the attributions sum to score − baseline_score (`convergence_delta` is
the gap the numerical integral leaves)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from featureship.errors import MissingExtraError

if TYPE_CHECKING:
    from featureship.tasks.image_classification.model import ImageClassifier

IG_STEPS = 64
OVERLAY_SIDE = 160  # overlays are drawn at least this many pixels a side


def _integrated_gradients():
    try:
        from captum.attr import IntegratedGradients
    except ImportError as exc:
        raise MissingExtraError("captum", "explain", "Explaining image predictions") from exc
    return IntegratedGradients


def attributions(model: ImageClassifier, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(attributions (N, C, S, S), predicted index (N,), score (N,), baseline score (N,))."""
    net = model.net.eval()

    def probability(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(net(x), dim=1)

    ig = _integrated_gradients()(probability)
    x = torch.from_numpy(pixels).float()
    with torch.no_grad():
        probs = probability(x)
        base = probability(torch.zeros_like(x))
    target = probs.argmax(1)
    attr = ig.attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=IG_STEPS,
                        internal_batch_size=IG_STEPS)
    rows = torch.arange(len(x))
    return (attr.detach().numpy(), target.numpy(), probs[rows, target].numpy(),
            base[rows, target].numpy())


def overlay_png(pixels: np.ndarray, attribution: np.ndarray) -> str:
    """The image in gray with |attribution| as a red-yellow heat map on top, base64 PNG."""
    import matplotlib
    from PIL import Image

    heat = np.abs(attribution).sum(0)
    top = np.percentile(heat, 99) or heat.max() or 1.0
    heat = np.clip(heat / top, 0, 1)
    colours = matplotlib.colormaps["inferno"](heat)[..., :3]  # (S, S, 3) in [0, 1]
    gray = pixels.mean(0) / 255.0
    alpha = 0.35 + 0.5 * heat[..., None]  # strong where the evidence is
    blended = (1 - alpha) * gray[..., None] + alpha * colours
    image = Image.fromarray((blended * 255).astype(np.uint8), "RGB")
    if image.size[0] < OVERLAY_SIDE:
        image = image.resize((OVERLAY_SIDE, OVERLAY_SIDE), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def explain_pixels(model: ImageClassifier, pixels: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for start in range(0, len(pixels), 8):  # IG holds n_steps copies per image: small chunks
        chunk = pixels[start : start + 8]
        attr, target, score, base = attributions(model, chunk)
        for i in range(len(chunk)):
            total = float(attr[i].sum())
            out.append({
                "label": model.classes[int(target[i])], "score": float(score[i]),
                "saliency_png_base64": overlay_png(chunk[i], attr[i]),
                "method": f"integrated gradients (captum, {IG_STEPS} steps, black baseline) on the "
                          "predicted class's probability",
                "attribution_sum": total, "baseline_score": float(base[i]),
                "convergence_delta": total - float(score[i] - base[i]),
            })
    return out
