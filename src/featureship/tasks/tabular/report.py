"""report.html sections of a tabular model: schema, quality plots, global importance."""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.evaluation.report import Section, new_figure, png_data_uri
from featureship.evaluation.tables import ResultTable, per_class_table
from featureship.manifest import Manifest


def _schema_table(manifest: Manifest) -> ResultTable:
    schema = manifest.input_schema
    rows = []
    for c in schema.get("columns", []):
        detail = ""
        if c["kind"] == "categorical":
            detail = f"top values: {', '.join(c.get('categories', [])[:5])}"
        rows.append([c["name"], c["kind"], f"{c.get('missing_share', 0):.1%}", detail])
    for name, why in schema.get("dropped", {}).items():
        rows.append([name, "dropped", "", why])
    for name in schema.get("ignored", []):
        rows.append([name, "ignored", "", "--ignore-columns"])
    rows.append([schema.get("label_column", ""), "label", "", schema.get("problem", "")])
    return ResultTable("inferred schema", ["column", "kind", "missing", "detail"], rows)


def _importance_plot(importance: dict[str, Any]) -> str:
    pairs = sorted(zip(importance["columns"], importance["values"], strict=True), key=lambda p: p[1])[-25:]
    fig, ax = new_figure(6.4, 0.3 * len(pairs) + 1.2)
    ax.barh([p[0] for p in pairs], [p[1] for p in pairs], color="#3b7dd8")
    ax.set_xlabel(importance.get("measure", "importance"))
    return png_data_uri(fig)


def _confusion_plot(confusion: dict[str, Any]) -> str:
    labels, matrix = confusion["labels"], np.array(confusion["matrix"], dtype=float)
    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    size = min(3.5 + 0.3 * len(labels), 12)
    fig, ax = new_figure(size, size)
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.04, label="share of the true class")
    return png_data_uri(fig)


def _calibration_plot(y: np.ndarray, probs: np.ndarray) -> str:
    from sklearn.calibration import calibration_curve

    fig, ax = new_figure(4.8, 4.2)
    if probs.shape[1] == 2:
        truth, confidence, what = (y == 1).astype(int), probs[:, 1], "predicted probability of the second class"
    else:  # top-label calibration: is a 70 % confident prediction right 70 % of the time?
        truth, confidence = (probs.argmax(1) == y).astype(int), probs.max(1)
        what = "confidence of the predicted class"
    bins = max(3, min(10, len(y) // 20))
    observed, predicted = calibration_curve(truth, confidence, n_bins=bins, strategy="quantile")
    ax.plot([0, 1], [0, 1], "--", color="#999999", label="perfectly calibrated")
    ax.plot(predicted, observed, "o-", color="#3b7dd8", label="model")
    ax.set_xlabel(what)
    ax.set_ylabel("observed frequency")
    ax.legend(loc="upper left")
    return png_data_uri(fig)


def _scatter_plot(y: np.ndarray, pred: np.ndarray) -> str:
    fig, ax = new_figure(4.8, 4.4)
    ax.scatter(y, pred, s=8, alpha=0.5, color="#3b7dd8")
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([low, high], [low, high], "--", color="#999999")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    return png_data_uri(fig)


def _residual_plot(y: np.ndarray, pred: np.ndarray) -> str:
    fig, ax = new_figure(6.0, 3.6)
    ax.scatter(pred, y - pred, s=8, alpha=0.5, color="#c0504d")
    ax.axhline(0, color="#999999", linestyle="--")
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual − predicted")
    return png_data_uri(fig)


def report_sections(validation: dict[str, Any], manifest: Manifest) -> list[Section]:
    sections = [Section("Inferred schema", "How each column was read; dropped columns are not "
                        "features (pass --ignore-columns to drop others).", table=_schema_table(manifest))]
    metrics, plots = validation.get("metrics", {}), validation.get("plots", {})
    if manifest.input_schema.get("problem") == "regression" and plots:
        y, pred = np.array(plots["y_true"], float), np.array(plots["y_pred"], float)
        sections.append(Section(
            "Predicted vs actual (validation)",
            f"RMSE {metrics.get('rmse', float('nan')):.4g}, MAE {metrics.get('mae', float('nan')):.4g}, "
            f"R² {metrics.get('r2', float('nan')):.3f}.", image=_scatter_plot(y, pred)))
        sections.append(Section("Residuals (validation)", "A pattern here means the model misses a trend.",
                                image=_residual_plot(y, pred)))
    elif plots:
        y, probs = np.array(plots["y_true"], int), np.array(plots["probs"], float)
        auc = metrics.get("roc_auc")
        auc_text = f", ROC-AUC {auc:.3f}" if isinstance(auc, float) and np.isfinite(auc) else ""
        sections.append(Section(
            "Confusion matrix (validation)",
            f"Accuracy {metrics.get('accuracy', 0):.3f}, macro-F1 {metrics.get('macro_f1', 0):.3f}{auc_text}. "
            "Rows: the true class; columns: what the model said.",
            image=_confusion_plot(metrics["confusion_matrix"]) if "confusion_matrix" in metrics else None,
            table=per_class_table(metrics["per_class"]) if "per_class" in metrics else None))
        if len(y) >= 20:
            sections.append(Section("Calibration (validation)", "Points on the diagonal: the scores can "
                                    "be read as probabilities.", image=_calibration_plot(y, probs)))
    importance = validation.get("importance")
    if importance and importance.get("columns"):
        sections.append(Section("Feature importance", "Mean absolute SHAP contribution of each input "
                                "column on validation rows (exact TreeSHAP for LightGBM, w·(x − mean) "
                                "for the linear model), one-hot and TF-IDF parts merged into their column.",
                                image=_importance_plot(importance)))
    return sections
