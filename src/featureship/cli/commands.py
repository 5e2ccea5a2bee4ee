"""Task-agnostic commands: evaluate, predict, serve, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import app, console, err_console, metrics_table, print_json, user_errors


@app.command()
@user_errors
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="Held-out data with the true answers.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Score a trained model on held-out data (never the data it was trained on)."""
    from featureship.api import load

    model = load(bundle)
    metrics = model.evaluate(data)
    if as_json:
        print_json(metrics)
        return
    for note in metrics.get("notes", []):
        err_console.print(f"[yellow]note:[/] {note}")
    headline = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    console.print(metrics_table(f"{model.name} on {data.name}", headline))
    per_class = metrics.get("per_class")
    if isinstance(per_class, dict) and per_class:
        from rich.table import Table

        table = Table(title="per class", header_style="bold")
        for column in ("label", "precision", "recall", "f1", "support"):
            table.add_column(column, justify="left" if column == "label" else "right")
        for label, row in per_class.items():
            table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                          f"{row['f1']:.3f}", str(row["support"]))
        console.print(table)


@app.command()
@user_errors
def predict(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    data: Annotated[Path | None, typer.Option("--data", help="Table of inputs to score.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="CSV to write.")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="A text to classify (repeatable); JSON on stdout.")] = None,
    users: Annotated[str | None, typer.Option("--users", help="Recommenders: 'all', or comma-separated user ids.")] = None,
    k: Annotated[int, typer.Option("--k", help="Recommenders: items per user.")] = 10,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --output file.")] = False,
) -> None:
    """Predict with a trained model: a table to a CSV (every input column kept), or texts to JSON."""
    from featureship.api import load
    from featureship.data.readers import read_table
    from featureship.errors import SettingsError

    model = load(bundle)
    if text:
        print_json({"predictions": model.predict(text)})
        return
    if output is None:
        raise SettingsError("Give --output OUT.csv to write predictions (or --text \"...\" for JSON).")
    output = output.resolve()
    if data is not None and output == data.resolve():
        raise SettingsError(f"--output {output} is the input file; choose another name so your data is kept.")
    if output.exists() and not overwrite:
        raise SettingsError(f"--output {output} exists; pass --overwrite to replace it, or pick a new name.")
    if users is not None:
        frame = model.recommend_table(users=users, k=k)
    elif data is not None:
        frame = model.predict_table(read_table(data))
    else:
        raise SettingsError("Give --data F (or --users all for a recommender), or --text \"...\".")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(output)
    err_console.print(f"wrote {len(frame):,} rows to {output}")


@app.command()
@user_errors
def serve(
    bundles: Annotated[list[Path], typer.Argument(help="One or more model bundle folders.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most inputs per request (413 above).")] = 256,
    max_text_chars: Annotated[int, typer.Option("--max-text-chars", help="Longest text accepted (413 above).")] = 20_000,
) -> None:
    """Serve models over a REST API (OpenAPI docs at /docs); each model is named by its folder."""
    import uvicorn

    from featureship.serving.app import ServerSettings, create_app

    settings = ServerSettings(max_batch=max_batch, max_text_chars=max_text_chars)
    api = create_app([Path(b) for b in bundles], settings)
    uvicorn.run(api, host=host, port=port, log_level="info")


@app.command()
@user_errors
def demo(
    output: Annotated[Path, typer.Option(help="Where the demo bundle goes.")] = Path("featureship-demo"),
) -> None:
    """Train a customer-service intent model on the bundled banking77 data, offline, and show it."""
    from featureship.demo import run_demo

    run_demo(output)
