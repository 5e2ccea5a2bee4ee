"""report.html for a text classifier: headline numbers, candidates, curves, per-class F1, confusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.evaluation.report import Section, html_report, new_figure, png_data_uri


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


def build_report(title: str, metrics: dict[str, Any], info: dict[str, Any], kind: str) -> str:
    candidates = info.get("candidates") or []
    training = info.get("training") or {}
    data = info.get("data") or {}
    sections = [
        Section(
            "What was trained",
            f"Model: {kind}. Trained on {data.get('train_rows', '?')} rows, scored on "
            f"{data.get('validation_rows', '?')} held-out validation rows ({data.get('validation', '')}). "
            "Every number on this page is on validation data: no weight was fitted on it, but it "
            "chose the candidate, the best epoch and the blend weight, so treat the numbers as "
            "slightly optimistic and confirm on a test set with `featureship evaluate`.",
            notes=list(data.get("notes", [])),
        ),
    ]
    if candidates:
        sections.append(Section(
            "Candidates tried", "auto compared these on validation macro-F1 and kept the best.",
            image=_candidates_plot(candidates),
            table=(["candidate", "accuracy", "macro_f1", "train seconds"],
                   [[c["candidate"], c["accuracy"], c["macro_f1"], round(c["seconds"], 1)] for c in candidates]),
        ))
    if training.get("history"):
        sections.append(Section(
            "Fine-tuning curves", f"Stopped: {training.get('stopped', '')}; best epoch "
            f"{training.get('best_epoch', '?')}.", image=_curves_plot(training["history"])))
    per_class = metrics.get("per_class", {})
    if per_class:
        worst = sorted(per_class.items(), key=lambda kv: kv[1]["f1"])[:10]
        sections.append(Section(
            "F1 by class", "Classes at the top of the chart need more or cleaner examples.",
            image=_per_class_plot(per_class),
            table=(["class (10 weakest)", "precision", "recall", "f1", "support"],
                   [[k, v["precision"], v["recall"], v["f1"], v["support"]] for k, v in worst]),
        ))
        sections.append(Section("Confusion matrix", "Rows: the true class; columns: what the model said.",
                                image=_confusion_plot(metrics["confusion_matrix"])))
    headline = {"accuracy": metrics.get("accuracy"), "macro-F1": metrics.get("macro_f1"),
                "classes": len(per_class)}
    return html_report(title, "featureship text classification report", headline, sections)
