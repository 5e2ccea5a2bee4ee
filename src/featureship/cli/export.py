"""`featureship export DIR --format onnx [--quantize int8] --output DIR2 --data holdout.csv`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import app, err_console, print_json, user_errors


@app.command()
@user_errors
def export(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder to export.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the new bundle.")],
    data: Annotated[Path | None, typer.Option("--data", help="Held-out labelled data: the accuracy change is measured on it.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Runtime to export to: onnx.")] = "onnx",
    quantize: Annotated[str, typer.Option("--quantize", help="none, int8 (per-channel) or int8-per-tensor.")] = "none",
    max_drop: Annotated[float, typer.Option("--max-drop", help="Most macro-F1 points the export may lose.")] = 0.5,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing bundle at --output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Write a new bundle that serves through ONNX Runtime (optionally int8), after checking
    on held-out data that it loses at most --max-drop points of macro-F1."""
    from featureship.export import export_bundle
    from featureship.progress import Reporter

    result = export_bundle(bundle, output, fmt=fmt, quantize=quantize, data=data, max_drop=max_drop,
                           overwrite=overwrite, progress=Reporter(console=err_console, enabled=not as_json))
    if as_json:
        print_json(result)
        return
    err_console.print(f"wrote {output} ({fmt}, quantize {result['quantize']}): {result['metric']} "
                      f"{result['exported_metrics'][result['metric']]:.4f}, "
                      f"{result['change_points']:+.2f} points against the source")
