"""Result tables built once and shown twice: in the terminal (rich) and in report.html.

    table = candidates_table(manifest, columns=(("validation", "macro_f1"),))
    console.print(table.to_rich());  Section(..., table=table)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from featureship.manifest import Manifest


@dataclass
class ResultTable:
    title: str
    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    caption: str = ""

    def to_rich(self) -> RichTable:
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, header_style="bold", caption=self.caption or None)
        for i, column in enumerate(self.columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in self.rows:
            table.add_row(*(format_cell(v) for v in row))
        return table


def format_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4f}"
    return "" if value is None else str(value)


def candidates_table(manifest: Manifest, columns: Sequence[tuple[str, str]]) -> ResultTable:
    """Every candidate `auto` tried, the chosen one marked; `columns` are (split, metric).

    A column no candidate has (regression metrics of a classifier) is left out."""
    columns = [(split, metric) for split, metric in columns
               if any(metric in getattr(c, split) for c in manifest.candidates)] or list(columns)
    header = ["candidate", *(f"{split} {metric}" for split, metric in columns), "seconds", "chosen"]
    rows = []
    for c in manifest.candidates:
        values = [getattr(c, split).get(metric, math.nan) for split, metric in columns]
        rows.append([c.name, *values, f"{c.seconds:.1f}", "✓" if c.name == manifest.chosen else ""])
    splits = {split for split, _ in columns}
    caption = "chosen on validation" + ("; test numbers were never used for a choice" if "test" in splits else "")
    return ResultTable("candidates", header, rows, caption)


def metrics_table(title: str, metrics: dict[str, Any]) -> ResultTable:
    """Flat numbers (and short strings) as a two-column table; nested values are left out."""
    rows = [[k, v] for k, v in metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return ResultTable(title, ["metric", "value"], rows)


def per_class_table(per_class: dict[str, dict[str, float]], title: str = "per class") -> ResultTable:
    rows = [[label, v["precision"], v["recall"], v["f1"], v["support"]] for label, v in per_class.items()]
    return ResultTable(title, ["label", "precision", "recall", "f1", "support"], rows)
