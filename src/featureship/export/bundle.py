"""Write an exported bundle after measuring what the export costs in accuracy.

Bundles keep no raw training or validation texts (by design: they may hold customer data),
so the comparison needs held-out labelled data from the user (`--data`): both the source and
the exported model are scored on it, and an export that loses more than `max_drop` points of
macro-F1 is refused. The exported bundle's reference profile for drift is rebuilt from the
same data with the exported encoder (its embeddings differ slightly from the source's, and a
profile must come from the encoder that serves).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from featureship.artifacts import check_output_folder
from featureship.data.readers import as_frame
from featureship.errors import SettingsError
from featureship.progress import Reporter, silent
from featureship.tasks.base import DataSource

FORMATS = ("onnx",)
QUANTIZE_CHOICES = ("none", "int8", "int8-per-tensor")
METRIC = "macro_f1"


class ExportRefused(SettingsError):
    """The exported model lost more accuracy than allowed; nothing was written."""


def export_bundle(source: str | Path, output: str | Path, fmt: str = "onnx", quantize: str | None = None,
                  data: DataSource | None = None, max_drop: float = 0.5, overwrite: bool = False,
                  progress: Reporter | None = None) -> dict[str, Any]:
    """Export the bundle at `source` to `output`; returns the comparison written to the manifest.

    `max_drop` is in points (0.5 = half a percentage point of macro-F1 on `data`).
    """
    from featureship.api import load, save
    from featureship.monitoring.profile import build_profile

    progress = progress or silent()
    if fmt not in FORMATS:
        raise SettingsError(f"--format {fmt} is not supported; choose one of: {', '.join(FORMATS)}.")
    quantize = None if quantize in (None, "none") else quantize
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise SettingsError(f"--quantize {quantize}: choose one of {', '.join(QUANTIZE_CHOICES)}.")
    if max_drop < 0:
        raise SettingsError(f"--max-drop {max_drop}: give the points of {METRIC} you accept to lose (≥ 0).")
    if data is None:
        raise SettingsError(
            "Give --data: held-out labelled data (the text and label columns the model was trained "
            "with, rows it never saw). Bundles keep no raw texts, so the accuracy change of the "
            "export is measured on data you supply.")
    output = Path(output).resolve()
    if Path(source).resolve() == output:
        raise SettingsError(f"--output {output} is the source bundle; choose a new folder.")
    check_output_folder(output, overwrite)
    original = load(source)
    table = as_frame(data)
    exported = original.exported(fmt, quantize, progress)
    try:
        with progress.step(f"scoring source and export on {table.name}"):
            t0 = time.perf_counter()
            before = original.evaluate(table)
            t1 = time.perf_counter()
            after = exported.evaluate(table)
            t2 = time.perf_counter()
        change = round(100 * (after[METRIC] - before[METRIC]), 3)
        comparison = {
            "source": str(Path(source).resolve()), "format": fmt, "quantize": quantize or "none",
            "evaluated_on": table.name, "rows": len(table.frame) - int(after.get("rows_skipped", 0)),
            "metric": METRIC, "source_metrics": _headline(before), "exported_metrics": _headline(after),
            "change_points": change, "max_drop_points": max_drop,
            "seconds": {"source": round(t1 - t0, 2), "exported": round(t2 - t1, 2)},
            "notes": list(after.get("notes", [])),
        }
        progress.info(f"{METRIC}: source {before[METRIC]:.4f}, exported {after[METRIC]:.4f} "
                      f"({change:+.2f} points; allowed drop {max_drop})")
        if -change > max_drop:
            raise ExportRefused(
                f"The {fmt}{' ' + quantize if quantize else ''} export of {source} scores {METRIC} "
                f"{after[METRIC]:.4f} on {table.name} against the source's {before[METRIC]:.4f}: a drop "
                f"of {-change:.2f} points, more than --max-drop {max_drop}. Nothing was written. Try "
                "--quantize none (fp32 ONNX), or raise --max-drop if the loss is acceptable.")
        rows = exported.input_rows(table)
        exported.reference_profile = build_profile(
            exported, rows, None, f"the held-out data given to export ({table.name})", progress=progress)
        if original.reference_profile is not None:  # the training label distribution carries over
            exported.reference_profile.label_counts = original.reference_profile.label_counts
        manifest = exported.describe()
        manifest.metrics = {k: float(v) for k, v in _headline(after).items()}
        manifest.metrics_on = (f"{table.name}, held-out data given to `featureship export` (the source "
                               f"scored {METRIC} {before[METRIC]:.4f} on it)")
        manifest.model = exported.model_spec()
        manifest.export = comparison  # type: ignore[attr-defined]  (Manifest keeps extra keys)
        exported.manifest = manifest
        save(exported, output, overwrite=overwrite)
    finally:
        onnx_path = getattr(exported.encoder, "onnx_path", None)
        if onnx_path is not None and Path(onnx_path).parent.name.startswith("featureship-export-"):
            shutil.rmtree(Path(onnx_path).parent, ignore_errors=True)
    return comparison


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(metrics[k]) for k in ("accuracy", "macro_f1", "weighted_f1") if k in metrics}
