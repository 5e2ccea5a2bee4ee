"""report.html sections of an answer retriever: candidates, the precision/coverage curve, and
explanations of a few validation-like questions."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from featureship.evaluation.report import Section, new_figure, png_data_uri

if TYPE_CHECKING:
    from featureship.tasks.answer_retrieval.fitted import AnswerRetrievalModel


def _curve_plot(curve: list[dict[str, float]], target: float, threshold: float) -> str:
    fig, ax = new_figure(6.4, 3.8)
    ax.plot([p["coverage"] for p in curve], [p["precision"] for p in curve], color="#3b7dd8",
            label="answering the most confident first")
    ax.axhline(target, color="#c0504d", linestyle="--", label=f"target precision {target:g}")
    chosen = [p for p in curve if p["threshold"] >= threshold]
    if chosen:
        ax.plot([chosen[-1]["coverage"]], [chosen[-1]["precision"]], "o", color="#2e8b57",
                label=f"threshold {threshold:.3f}")
    ax.set_xlabel("coverage (share of questions answered, not handed off)")
    ax.set_ylabel("precision of answered questions")
    ax.set_ylim(max(0.0, min(p["precision"] for p in curve) - 0.05), 1.01)
    ax.legend(loc="lower left", fontsize=8)
    return png_data_uri(fig)


def _explanations_html(model: AnswerRetrievalModel, texts: list[str]) -> str:
    def shade(attributions: list[dict]) -> str:
        top = max((abs(a["weight"]) for a in attributions), default=0.0) or 1.0
        spans = []
        for a in attributions:
            alpha = min(1.0, abs(a["weight"]) / top)
            color = f"rgba(46,139,87,{alpha:.2f})" if a["weight"] >= 0 else f"rgba(192,80,77,{alpha:.2f})"
            spans.append(f"<span style='background:{color};padding:0 2px'>"
                         f"{html.escape(a['token'])}</span>")
        return " ".join(spans)

    rows = []
    for e in model.explain(texts):
        rows.append(f"<p><b>{shade(e['attributions'])}</b><br>→ <code>{html.escape(e['id'])}</code> "
                    f"({e['score']:.2f}), matched {html.escape(e['matched_kind'])}: "
                    f"{shade(e['matched_attributions'])}</p>")
    return "".join(rows)


def report_sections(model: AnswerRetrievalModel) -> list[Section]:
    sections = []
    calibration = model.retriever.calibration
    curve = model.validation_metrics.get("curve") or []
    if curve:
        text = (f"Threshold {calibration.threshold:.3f} chosen for a target precision of "
                f"{calibration.target_precision:g}: on validation it answers "
                f"{model.validation_metrics.get('coverage', 0):.1%} of questions with precision "
                f"{model.validation_metrics.get('answered_precision', 0):.3f}; the rest are "
                "handed off to a person.")
        if not calibration.reached:
            text += " No threshold reached the target on validation, so every question is handed off."
        sections.append(Section("Precision and coverage", text,
                                image=_curve_plot(curve, calibration.target_precision,
                                                  calibration.threshold)))
    else:
        sections.append(Section("Precision and coverage", "No labelled questions: the hand-off "
                                f"threshold {calibration.threshold:g} is an uncalibrated default. "
                                "Add example questions to calibrate it."))
    examples = model.retriever.examples.texts[:: max(1, len(model.retriever.examples.texts) // 3)][:3]
    if examples:
        sections.append(Section("Why answers were chosen", "Words of a few example questions "
                                "and of the text they matched, shaded by how much removing each "
                                "lowers the score (occlusion).",
                                html=_explanations_html(model, examples)))
    return sections
