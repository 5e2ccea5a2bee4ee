"""report.html sections of an image classifier: candidates, curves, per-class metrics, the
confusion matrix, and a grid of validation images with true and predicted labels, mistakes first."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from featureship.evaluation.report import Section
from featureship.evaluation.tables import per_class_table
from featureship.manifest import Manifest
from featureship.tasks.text_classification.report import _confusion_plot, _curves_plot

GRID_DISPLAY = 96  # pixels a side each thumbnail is shown at


def png_base64(pixels: np.ndarray, display: int | None = None) -> str:
    """(C, H, W) uint8 → base64 PNG, scaled up (nearest) to `display` pixels a side."""
    from PIL import Image

    image = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0))
    if display and image.size[0] < display:
        image = image.resize((display, display), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def grid_html(grid: dict[str, Any]) -> str:
    pixels = grid.get("pixels")
    if pixels is None or not len(pixels):
        return ""
    cells = []
    for image, true, pred, score in zip(pixels, grid["true"], grid["pred"], grid["score"], strict=True):
        ok = true == pred
        colour = "#2e8b57" if ok else "#c0504d"
        caption = (f"true <b>{html.escape(true)}</b><br>predicted <b style='color:{colour}'>"
                   f"{html.escape(pred)}</b> ({score:.2f})")
        cells.append(f"<figure style='display:inline-block;margin:4px;text-align:center;font-size:12px;"
                     f"border:2px solid {colour};padding:3px'><img alt='validation image' "
                     f"src='data:image/png;base64,{png_base64(image, GRID_DISPLAY)}' width='{GRID_DISPLAY}'>"
                     f"<figcaption>{caption}</figcaption></figure>")
    return "<div>" + "".join(cells) + "</div>"


def report_sections(metrics: dict[str, Any], manifest: Manifest, grid: dict[str, Any]) -> list[Section]:
    sections = []
    for kind, title in (("scratch", "CNN training curves"), ("finetune", "Fine-tuning curves")):
        info = manifest.training.get(kind) or {}
        if info.get("history"):
            sections.append(Section(title, f"Stopped: {info.get('stopped', '')}; best epoch "
                                    f"{info.get('best_epoch', '?')}.", image=_curves_plot(info["history"])))
    if metrics.get("per_class"):
        sections.append(Section("Per class on validation", table=per_class_table(metrics["per_class"])))
    if metrics.get("confusion_matrix"):
        sections.append(Section("Confusion matrix (validation, rows normalised)",
                                image=_confusion_plot(metrics["confusion_matrix"])))
    if grid.get("pixels") is not None and len(grid["pixels"]):
        sections.append(Section(
            "Validation images", f"{grid.get('mistakes', 0)} mistake(s) on validation; mistakes first "
            "(most confident first), then correct predictions.", html=grid_html(grid)))
    return sections
