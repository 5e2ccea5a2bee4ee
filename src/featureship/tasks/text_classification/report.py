"""report.html sections of a text classifier: candidates, curves, per-class F1, confusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.evaluation.report import Section, new_figure, png_data_uri
from featureship.evaluation.tables import per_class_table
from featureship.manifest import Manifest


def _confusion_plot(confusion: dict[str, Any]) -> str:
    labels, matrix = confusion["labels"], np.array(confusion["matrix"], dtype=float)
    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)  # recall-normalised rows
    size = min(4 + 0.16 * len(labels), 18)
    fig, ax = new_figure(size, size)
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(labels))
    fontsize = 9 if len(labels) <= 20 else 5
    ax.set_xticks(ticks, labels, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, labels, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.03, label="share of the true class")
    return png_data_uri(fig)


def _per_class_plot(per_class: dict[str, dict[str, float]]) -> str:
    items = sorted(per_class.items(), key=lambda kv: kv[1]["f1"])
    fig, ax = new_figure(7, max(2.5, 0.14 * len(items) + 1))
    ax.barh([k for k, _ in items], [v["f1"] for _, v in items], color="#3b7dd8")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on validation")
    ax.tick_params(axis="y", labelsize=9 if len(items) <= 20 else 5)
    return png_data_uri(fig)


def _curves_plot(history: list[dict[str, float]]) -> str:
    epochs = [h["epoch"] for h in history]
    fig, ax = new_figure(6.4, 3.6)
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss", color="#c0504d")
    ax.set_xlabel("epoch")
    ax.set_ylabel("train loss")
    other = ax.twinx()
    for key, color in (("val_accuracy", "#3b7dd8"), ("val_macro_f1", "#2e8b57")):
        other.plot(epochs, [h[key] for h in history], "o-", label=key.replace("_", " "), color=color)
    other.set_ylabel("validation")
    fig.legend(loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.08))
    return png_data_uri(fig)


def _candidates_plot(candidates: list[dict[str, Any]]) -> str:
    fig, ax = new_figure(6.4, 0.5 * len(candidates) + 1.2)
    names = [c["candidate"] for c in candidates]
    ax.barh(names, [c["macro_f1"] for c in candidates], color="#3b7dd8")
    ax.set_xlabel("validation macro-F1")
    low = min(c["macro_f1"] for c in candidates)
    ax.set_xlim(max(0, low - 0.1), 1)
    return png_data_uri(fig)


def _explanations_section(examples: list[dict[str, Any]]) -> Section:
    from featureship.explain.render import KEY, explanation_block, section_style

    blocks = "".join(explanation_block(e, f"true label: {e['true_label']}") for e in examples)
    return Section(
        "Why it decided: validation examples",
        "Each word's weight is its contribution to the predicted label's score (its logit "
        "against the average class); right and wrong predictions both shown.",
        html=section_style() + KEY + blocks)


def report_sections(metrics: dict[str, Any], manifest: Manifest,
                    explanations: list[dict[str, Any]] | None = None) -> list[Section]:
    """The text classifier's own sections: candidates chart, curves, per-class F1, confusion,
    explained validation examples."""
    sections = []
    candidates = [{"candidate": c.name, "macro_f1": c.validation.get("macro_f1", 0.0)}
                  for c in manifest.candidates]
    if candidates:
        sections.append(Section("Candidates on validation macro-F1", image=_candidates_plot(candidates)))
    training = manifest.training
    if training.get("history"):
        sections.append(Section(
            "Fine-tuning curves", f"Stopped: {training.get('stopped', '')}; best epoch "
            f"{training.get('best_epoch', '?')}.", image=_curves_plot(training["history"])))
    per_class = metrics.get("per_class", {})
    if per_class:
        worst = dict(sorted(per_class.items(), key=lambda kv: kv[1]["f1"])[:10])
        sections.append(Section(
            "F1 by class", "Classes at the top of the chart need more or cleaner examples.",
            image=_per_class_plot(per_class), table=per_class_table(worst, "10 weakest classes")))
        sections.append(Section("Confusion matrix", "Rows: the true class; columns: what the model said.",
                                image=_confusion_plot(metrics["confusion_matrix"])))
    if explanations:
        sections.append(_explanations_section(explanations))
    return sections
