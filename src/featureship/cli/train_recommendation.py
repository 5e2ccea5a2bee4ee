"""`featureship train recommendation`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import (
    BackendOpt,
    EncryptKeyEnv,
    RayAddress,
    Track,
    Workers,
    bundle_key,
    console,
    scale_options,
    show_training_summary,
    train_app,
    user_errors,
)


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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle already at --output.")] = False,
    encrypt_key_env: EncryptKeyEnv = None,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    track: Track = None,
) -> None:
    """Train a recommender on who-interacted-with-what; picks the best model on validation."""
    from featureship.api import train
    from featureship.progress import Reporter

    result = train(
        "recommendation", data=data, output=output, progress=Reporter(), overwrite=overwrite,
        encrypt_key=bundle_key(encrypt_key_env, "--encrypt-key-env"),
        user_column=user_column, item_column=item_column, time_column=time_column,
        rating_column=rating_column, model=model, items=str(items) if items else None,
        item_id_column=item_id_column, item_title_column=item_title_column, refit=refit,
        epochs=epochs, time_budget_s=time_budget, seed=seed,
        **scale_options(backend, ray_address, workers, track),
    )
    show_training_summary(result)
    if "rating_rmse" in result.metrics:
        console.print(f"rating prediction (biased MF, 80/20): RMSE {result.metrics['rating_rmse']:.4f}, "
                      f"MAE {result.metrics['rating_mae']:.4f}")
