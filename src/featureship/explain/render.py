"""Explanations rendered for people: words shaded by weight (HTML, terminal), or plain JSON.

Green marks words that pushed towards the explained label, red words that pushed against it;
the shade is the weight relative to the largest absolute weight of that explanation.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

_PAGE_STYLE = """
body{font:15px/1.6 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;color:#1d2733;padding:0 1em}
"""
_WORD_STYLE = """
.fs-expl{margin:.6em 0 1em;padding:.5em .8em;border-left:3px solid #dde3ea}
.fs-expl .fs-head{color:#5b6b7c;font-size:.9em}
.fs-w{padding:.05em .2em;border-radius:3px;margin:0 .05em}
.fs-key{font-size:.85em;color:#5b6b7c} pre{background:#f3f6f9;padding:.6em;overflow:auto}
"""


def _shade(weight: float, scale: float) -> str:
    share = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    rgb = "46,139,87" if weight >= 0 else "192,80,77"
    return f"background:rgba({rgb},{share * 0.85:.3f})"


def has_words(explanation: dict[str, Any]) -> bool:
    """True when an explanation lists word weights (`attributions` of {token, weight})."""
    words = explanation.get("attributions")
    return isinstance(words, list) and all(isinstance(w, dict) and "token" in w and "weight" in w
                                           for w in words)


def shaded_words_html(attributions: Sequence[dict[str, Any]]) -> str:
    """The words as <span>s shaded by weight; the exact weight in each one's tooltip."""
    scale = max((abs(float(a["weight"])) for a in attributions), default=0.0)
    return " ".join(
        f"<span class='fs-w' style='{_shade(float(a['weight']), scale)}' "
        f"title='{float(a['weight']):+.4f}'>{html.escape(str(a['token']))}</span>"
        for a in attributions)


def explanation_block(explanation: dict[str, Any], caption: str = "") -> str:
    """One explanation: a heading line (label, score, caption) over its shaded words."""
    if not has_words(explanation):
        return f"<pre>{html.escape(json.dumps(explanation, indent=2, ensure_ascii=False, default=str))}</pre>"
    head = []
    if "label" in explanation:
        head.append(f"<b>{html.escape(str(explanation['label']))}</b>")
    if isinstance(explanation.get("score"), (int, float)):
        head.append(f"p = {float(explanation['score']):.3f}")
    if explanation.get("method"):
        head.append(html.escape(str(explanation["method"])))
    if caption:
        head.append(html.escape(caption))
    return (f"<div class='fs-expl'><div class='fs-head'>{' · '.join(head)}</div>"
            f"{shaded_words_html(explanation['attributions'])}</div>")


KEY = ("<p class='fs-key'>Green words pushed towards the label, red words against it; "
       "hover a word for its weight.</p>")


def word_explanations_html(explanations: Sequence[dict[str, Any]], title: str = "Explanations") -> str:
    """A self-contained HTML page (no scripts, no external files) of shaded explanations.

    Explanations without word weights are shown as their JSON, so any task's output renders.
    """
    blocks = "".join(explanation_block(e, f"row {e['row']}" if "row" in e else "") for e in explanations)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_PAGE_STYLE}{_WORD_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{KEY}{blocks}"
            "</body></html>")


def section_style() -> str:
    """The CSS the report needs to show shaded words inside its own page."""
    return f"<style>{_WORD_STYLE}</style>"


def rich_words(explanation: dict[str, Any]) -> Any:
    """A rich Text of the words on shaded backgrounds, for the terminal."""
    from rich.text import Text

    attributions = explanation["attributions"]
    scale = max((abs(float(a["weight"])) for a in attributions), default=0.0)
    text = Text()
    for i, a in enumerate(attributions):
        weight = float(a["weight"])
        share = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
        base = (46, 139, 87) if weight >= 0 else (192, 80, 77)
        # blend towards white by how little the word weighed
        r, g, b = (int(255 - (255 - c) * share) for c in base)
        text.append(str(a["token"]), style=f"black on rgb({r},{g},{b})")
        if i < len(attributions) - 1:
            text.append(" ")
    return text
