"""`featureship monitor DIR --data new.csv`: has the world drifted from the training data?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import (
    KeyEnv,
    app,
    bundle_key,
    console,
    err_console,
    print_json,
    user_errors,
)


@app.command()
@user_errors
def monitor(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="New inputs (a table with the model's input columns).")],
    output: Annotated[Path | None, typer.Option("--output", help="HTML report to write (self-contained).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as one JSON object.")] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows tested (a seeded sample above it).")] = 1000,
    key_env: KeyEnv = None,
) -> None:
    """Test new data against the bundle's reference profile (the same verdict the server gives).

    Exit code 0 either way; the verdict says `drift: true|false`.
    """
    from featureship.api import load
    from featureship.artifacts import refuse_output_over_input
    from featureship.data.readers import as_frame
    from featureship.evaluation.tables import metrics_table
    from featureship.monitoring.offline import drift_report, offline_verdict
    from featureship.progress import Reporter

    refuse_output_over_input(output, data)
    model = load(bundle, key=bundle_key(key_env))
    verdict, plots = offline_verdict(model, as_frame(data), max_rows=max_rows,
                                     progress=Reporter(console=err_console, enabled=not as_json))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(drift_report(model, verdict, plots), encoding="utf-8")
    if as_json:
        print_json(verdict)
        return
    headline = {"drift": "yes" if verdict["drift"] else "no", "p-value (corrected)": verdict["p_value"],
                "rows tested": verdict["window"]}
    headline.update({f"{name} p": test["p_value"] for name, test in verdict["tests"].items()})
    console.print(metrics_table(f"{model.name}: drift on {data.name}", headline).to_rich())
    if output is not None:
        err_console.print(f"report: {output}")
