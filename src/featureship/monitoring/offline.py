"""`featureship monitor DIR --data new.csv`: the live verdict, on a file, with a report.

The file is one window: up to `max_rows` of its rows (seeded sample) go through the model's
predict, the features it computes on the way, and the same detector the server uses.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from featureship.data.readers import Table
from featureship.errors import SettingsError
from featureship.monitoring.detector import DriftDetector
from featureship.progress import Reporter, silent
from featureship.tasks.base import FittedModel

MAX_ROWS = 1000


def offline_verdict(model: FittedModel, table: Table, max_rows: int = MAX_ROWS, seed: int = 0,
                    progress: Reporter | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(verdict, plot data) for the rows of `table` against the model's reference profile."""
    progress = progress or silent()
    profile = model.reference_profile
    if profile is None:
        raise SettingsError(
            f"{model.path or model.name} keeps no reference profile (bundles trained before drift "
            "monitoring, or a task without one); retrain it with this featureship to monitor it.")
    rows = model.input_rows(table)
    notes = []
    if len(rows) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), max_rows, replace=False))
        notes.append(f"{table.name}: tested a seeded sample of {max_rows:,} of its {len(rows):,} rows.")
        rows = [rows[i] for i in pick]
    with progress.step(f"predicting {len(rows):,} rows of {table.name}", total=len(rows)) as step:
        outputs = []
        for start in range(0, len(rows), 64):
            outputs += model.predict(rows[start : start + 64])
            step.advance(min(64, len(rows) - start))
    features = None
    if profile.features is not None:
        features = np.vstack([model.drift_features(rows[s : s + 64], outputs[s : s + 64])
                              for s in range(0, len(rows), 64)]) if rows else None
    lookup = {label: i for i, label in enumerate(profile.labels)}
    predicted = np.array([lookup[o["label"]] for o in outputs if isinstance(o, dict) and o.get("label") in lookup],
                         dtype=np.int64)
    detector = DriftDetector(profile)
    verdict = detector.test(features, predicted if len(predicted) else None, keep_null=True)
    verdict["data"] = {"source": table.name, "rows_tested": len(rows), "notes": notes}
    plots = {"reference": detector.reference, "window": features, "verdict": verdict}
    nulls = {name: test.pop("null") for name, test in verdict["tests"].items() if "null" in test}
    plots["nulls"] = nulls
    return verdict, plots


def drift_report(model: FittedModel, verdict: dict[str, Any], plots: dict[str, Any]) -> str:
    """A self-contained drift.html: the verdict, each test with its null distribution, shares."""
    from featureship.evaluation.report import Section, html_report

    sections = [Section(
        "Verdict",
        ("Drift: the new data differ from the reference" if verdict["drift"]
         else "No drift detected") + f" (p = {verdict['p_value']:.4g} after correcting for "
        f"{len(verdict['tests'])} test(s); alarm below {verdict['alpha']}). Reference: "
        f"{model.reference_profile.source}. Tested {verdict['window']:,} rows of "
        f"{verdict['data']['source']}.",
        notes=list(verdict["data"]["notes"]) + ([verdict["status"]] if "status" in verdict else []),
        table=(["test", "what it compares", "statistic", "threshold", "p-value", "p (corrected)", "drift"],
               [[name, t["test"], t["statistic"], t.get("threshold", ""), t["p_value"], t["p_value_adjusted"],
                 "yes" if t["drift"] else "no"] for name, t in verdict["tests"].items()]),
    )]
    for name, null in plots["nulls"].items():
        test = verdict["tests"][name]
        sections.append(Section(
            f"{name}: the statistic against chance",
            "The histogram is the statistic when reference and new rows are shuffled together "
            "(what chance alone gives); the red line is the new data's value, the dashed one "
            "the alarm threshold.", image=_null_plot(null, test)))
    if plots["reference"] is not None and plots["window"] is not None and len(plots["window"]) > 1:
        sections.append(Section(
            "Inputs: reference and new rows", "The feature vectors projected on their two main "
            "directions (PCA of the reference): new rows far from the grey cloud are unlike the "
            "training inputs.", image=_projection_plot(plots["reference"], plots["window"])))
    labels = verdict["tests"].get("predicted_labels")
    if labels and labels.get("shifts"):
        sections.append(Section(
            "Predicted labels that moved most", "Share of each label among the model's "
            "predictions on the reference rows and on the new rows.",
            table=(["label", "reference share", "new share"],
                   [[s["label"], s["reference_share"], s["window_share"]] for s in labels["shifts"]])))
    headline = {"drift": "yes" if verdict["drift"] else "no", "p-value": float(verdict["p_value"]),
                "rows tested": verdict["window"]}
    return html_report(f"{html.escape(model.name)}: drift", f"featureship monitor · {model.task}",
                       headline, sections)


def _null_plot(null: np.ndarray, test: dict[str, Any]) -> str:
    from featureship.evaluation.report import new_figure, png_data_uri

    fig, ax = new_figure(6.4, 3.2)
    ax.hist(null, bins=40, color="#9fb7d6")
    ax.axvline(test["statistic"], color="#c0504d", lw=2, label="new data")
    if "threshold" in test:
        ax.axvline(test["threshold"], color="#333", ls="--", label="alarm threshold")
    ax.set_xlabel(test["test"])
    ax.set_ylabel("shuffles")
    ax.legend()
    return png_data_uri(fig)


def _projection_plot(reference: np.ndarray, window: np.ndarray) -> str:
    from featureship.evaluation.report import new_figure, png_data_uri

    center = reference.mean(0)
    _, _, vt = np.linalg.svd(reference - center, full_matrices=False)
    ref2, win2 = (reference - center) @ vt[:2].T, (window - center) @ vt[:2].T
    fig, ax = new_figure(5.5, 4.5)
    ax.scatter(ref2[:, 0], ref2[:, 1], s=6, color="#b5bcc4", label="reference")
    ax.scatter(win2[:, 0], win2[:, 1], s=8, color="#c0504d", label="new data")
    ax.legend()
    ax.set_xticks([])
    ax.set_yticks([])
    return png_data_uri(fig)
