"""`featureship train recommendation` and `featureship recommend`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import app, console, print_json, train_app, user_errors


@train_app.command("recommendation")
@user_errors
def train_recommendation(
    data: Annotated[Path, typer.Option("--data", help="Interactions table (CSV, Parquet, JSONL).")],
    user_column: Annotated[str, typer.Option("--user-column", help="Column with user ids.")],
    item_column: Annotated[str, typer.Option("--item-column", help="Column with item ids.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the model bundle.")],
    time_column: Annotated[str | None, typer.Option("--time-column", help="When each interaction happened (enables sasrec).")] = None,
    rating_column: Annotated[str | None, typer.Option("--rating-column", help="Explicit ratings (adds RMSE/MAE).")] = None,
    model: Annotated[str, typer.Option("--model", help="auto|popularity|itemknn|als|bpr|sasrec (auto: best on validation).")] = "auto",
    items: Annotated[Path | None, typer.Option("--items", help="Item metadata table, for titles.")] = None,
    item_id_column: Annotated[str | None, typer.Option("--item-id-column", help="Item id column in --items (default: --item-column).")] = None,
    item_title_column: Annotated[str | None, typer.Option("--item-title-column", help="Title column in --items.")] = None,
    refit: Annotated[bool, typer.Option("--refit/--no-refit", help="Refit the chosen model on all data before saving.")] = True,
    epochs: Annotated[int | None, typer.Option("--epochs", help="sasrec: most epochs.")] = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="sasrec: most seconds for one fit.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (recorded in the manifest).")] = 0,
) -> None:
    """Train a recommender on who-interacted-with-what; picks the best model on validation."""
    from rich.table import Table

    from featureship.api import train
    from featureship.progress import Reporter

    result = train(
        "recommendation", data=data, output=output, progress=Reporter(),
        user_column=user_column, item_column=item_column, time_column=time_column,
        rating_column=rating_column, model=model, items=str(items) if items else None,
        item_id_column=item_id_column, item_title_column=item_title_column, refit=refit,
        epochs=epochs, time_budget_s=time_budget, seed=seed,
    )
    chosen = result.manifest["model"]
    table = Table(title="candidates (leave-one-out; chosen on validation NDCG@10)", header_style="bold")
    for column in ("model", "valid NDCG@10", "test NDCG@10", "test HR@10", "test MRR@10",
                   "coverage@10", "train s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for c in result.manifest["candidates"]:
        v, t = c["valid"], c["test"]
        table.add_row(c["model"] + (" ✓" if c["model"] == chosen else ""), f"{v['ndcg@10']:.4f}",
                      f"{t['ndcg@10']:.4f}", f"{t['hr@10']:.4f}", f"{t['mrr@10']:.4f}",
                      f"{t['coverage@10']:.3f}", f"{c['train_seconds']:.1f}")
    console.print(table)
    metrics = result.metrics
    if "rating_rmse" in metrics:
        console.print(f"rating prediction (biased MF, 80/20): RMSE {metrics['rating_rmse']:.4f}, "
                      f"MAE {metrics['rating_mae']:.4f}")
    console.print(f"[bold green]saved[/] {chosen} model to {output} (report: {output / 'report.html'})")


@app.command("recommend")
@user_errors
def recommend(
    bundle: Annotated[Path, typer.Argument(help="Recommender bundle folder.")],
    user: Annotated[str | None, typer.Option("--user", help="A known user's id.")] = None,
    history: Annotated[str | None, typer.Option("--history", help="Comma-separated item ids of an anonymous session.")] = None,
    k: Annotated[int, typer.Option("--k", help="How many items.")] = 10,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Allow items the user already interacted with.")] = False,
) -> None:
    """Recommend items for a user or a session's history; JSON on stdout."""
    from featureship.api import load
    from featureship.errors import SettingsError

    if (user is None) == (history is None):
        raise SettingsError("Give exactly one of --user ID or --history ID,ID,...")
    model = load(bundle)
    if model.task != "recommendation":
        raise SettingsError(f"{bundle} is a {model.task} model; `recommend` needs a recommender.")
    items = [h.strip() for h in history.split(",") if h.strip()] if history is not None else None
    print_json(model.recommend(user=user, history=items, k=k, include_seen=include_seen))
