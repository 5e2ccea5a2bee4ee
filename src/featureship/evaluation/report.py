"""Self-contained HTML reports a product manager can open: numbers, tables, PNG plots inlined.

Plots are matplotlib figures embedded as base64 PNG data URIs, so `report.html` is one file
that works offline and can be mailed around.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featureship.evaluation.tables import ResultTable, candidates_table, format_cell

if TYPE_CHECKING:
    from featureship.manifest import Manifest
    from featureship.tasks.base import FittedModel


def png_data_uri(fig: Any) -> str:
    """Render a matplotlib figure to an inline PNG and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def new_figure(width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # headless; never opens a window
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


@dataclass
class Section:
    title: str
    text: str = ""
    image: str | None = None  # data URI from png_data_uri
    table: ResultTable | tuple[Sequence[str], Iterable[Sequence[Any]]] | None = None
    notes: list[str] = field(default_factory=list)
    html: str = ""  # pre-rendered, already escaped markup (explanations, image grids)


def _table_html(table: ResultTable | tuple[Sequence[str], Iterable[Sequence[Any]]]) -> str:
    if isinstance(table, ResultTable):
        header, rows, caption = table.columns, table.rows, table.caption
    else:
        (header, rows), caption = table, ""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row)
                   + "</tr>" for row in rows)
    foot = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{foot}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;color:#1d2733;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #dde3ea}
.sub{color:#5b6b7c} .cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{background:#f3f6f9;border-radius:8px;padding:.7em 1.1em;min-width:9em}
.card b{display:block;font-size:1.5em} table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
td,th{border-bottom:1px solid #e4e9ee;padding:.25em .8em;text-align:right} th{background:#f3f6f9}
td:first-child,th:first-child{text-align:left} img{max-width:100%} .note{color:#8a5a00}
caption{caption-side:bottom;color:#5b6b7c;font-size:.85em;text-align:left}
"""


def html_report(title: str, subtitle: str, headline: dict[str, Any], sections: list[Section]) -> str:
    """Assemble the report page: headline number cards, then sections of text/plots/tables."""
    cards = "".join(
        f"<div class='card'>{html.escape(k)}<b>{v:.3f}</b></div>" if isinstance(v, float)
        else f"<div class='card'>{html.escape(k)}<b>{html.escape(str(v))}</b></div>"
        for k, v in headline.items()
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><div class='sub'>{html.escape(subtitle)}</div>",
        f"<div class='cards'>{cards}</div>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for note in section.notes:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
        if section.image:
            parts.append(f"<img alt='{html.escape(section.title)}' src='{section.image}'>")
        if section.table:
            parts.append(_table_html(section.table))
        if section.html:
            parts.append(section.html)
    parts.append("</body></html>")
    return "\n".join(parts)


def bundle_report(model: FittedModel, manifest: Manifest, name: str | None = None) -> str:
    """report.html for any bundle, built from the saved model: common sections, then the task's.

    Written by `artifacts.write_bundle` every time a model is saved, so a reloaded-and-saved
    model keeps its report.
    """
    data = manifest.data
    sections = [Section(
        "What was trained",
        f"{manifest.task}: {manifest.chosen or 'model'}. Trained on {data.train_rows:,} rows"
        + (f", validated on {data.validation_rows:,} ({data.validation})" if data.validation_rows else "")
        + f". Headline numbers are on: {manifest.metrics_on or 'see below'}.",
        notes=list(data.notes),
    )]
    if manifest.candidates:
        sections.append(Section(
            "Candidates", "Every model tried, on the same split; the chosen one is marked.",
            table=candidates_table(manifest, type(model).candidate_columns)))
    sections += model.report_sections()
    export = (manifest.model_extra or {}).get("export")
    if export:  # written by `featureship export`: what the conversion cost
        sections.append(Section(
            "Export", f"Exported from {export['source']} to {export['format']} (quantize "
            f"{export['quantize']}); both scored on {export['evaluated_on']} ({export['rows']:,} rows): "
            f"{export['metric']} changed by {export['change_points']:+.2f} points (allowed drop "
            f"{export['max_drop_points']}).",
            table=(["metric", "source", "exported"],
                   [[k, v, export["exported_metrics"].get(k)] for k, v in export["source_metrics"].items()])))
    headline = {k: v for k, v in manifest.metrics.items()}
    subtitle = f"featureship {manifest.task} report · seed {manifest.seed}"
    title = f"{name or model.name}: {manifest.task}"
    return html_report(title, subtitle, headline, sections)
