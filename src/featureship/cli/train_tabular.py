"""`featureship train tabular`."""

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


@train_app.command("tabular")
@user_errors
def train_tabular(
    data: Annotated[Path, typer.Option("--data", help="Training table (CSV, Parquet, JSONL).")],
    label_column: Annotated[str, typer.Option("--label-column", help="Column with the value to predict.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the model bundle.")],
    validation: Annotated[Path | None, typer.Option("--validation", help="Validation table; default: a (stratified) split of --data.")] = None,
    problem: Annotated[str, typer.Option("--problem", help="auto | classification | regression.")] = "auto",
    ignore_columns: Annotated[str | None, typer.Option("--ignore-columns", help="Comma-separated columns not to use as features.")] = None,
    model: Annotated[str, typer.Option("--model", help="auto | lightgbm | linear (auto: better on validation).")] = "auto",
    class_weight: Annotated[str, typer.Option("--class-weight", help="none | balanced.")] = "none",
    time_budget_minutes: Annotated[float | None, typer.Option("--time-budget-minutes", help="LightGBM settings search budget (default 5).")] = None,
    refit: Annotated[bool, typer.Option("--refit/--no-refit", help="Refit the chosen model on train + validation.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (recorded in the manifest).")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle already at --output.")] = False,
    encrypt_key_env: EncryptKeyEnv = None,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    track: Track = None,
) -> None:
    """Predict a class or a number from a table's columns (LightGBM and a linear baseline)."""
    from featureship.api import train
    from featureship.evaluation.tables import ResultTable
    from featureship.progress import Reporter

    ignored = [c.strip() for c in ignore_columns.split(",") if c.strip()] if ignore_columns else []
    result = train(
        "tabular", data=data, output=output, encrypt_key=bundle_key(encrypt_key_env, "--encrypt-key-env"), validation=validation, progress=Reporter(),
        overwrite=overwrite, label_column=label_column, problem=problem, ignore_columns=ignored,
        model=model, class_weight=class_weight, time_budget_minutes=time_budget_minutes,
        refit=refit, seed=seed,
        **scale_options(backend, ray_address, workers, track),
    )
    schema = result.describe().input_schema
    rows = [[c["name"], c["kind"], f"{c['missing_share']:.1%}"] for c in schema["columns"]]
    rows += [[name, "dropped", why] for name, why in schema.get("dropped", {}).items()]
    console.print(ResultTable(f"inferred schema ({schema['problem']} of '{label_column}')",
                              ["column", "kind", "missing / why"], rows).to_rich())
    show_training_summary(result)
