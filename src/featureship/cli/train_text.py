"""`featureship train text-classification`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import (
    BackendOpt,
    EncryptKeyEnv,
    RayAddress,
    RedactPii,
    Track,
    Workers,
    bundle_key,
    scale_options,
    show_training_summary,
    train_app,
    user_errors,
)


@train_app.command("text-classification")
@user_errors
def train_text_classification(
    data: Annotated[Path, typer.Option("--data", help="Training table (CSV, Parquet, JSONL).")],
    text_column: Annotated[str, typer.Option("--text-column", help="Column with the text.")],
    label_column: Annotated[str, typer.Option("--label-column", help="Column with the label.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the model bundle.")],
    validation: Annotated[Path | None, typer.Option("--validation", help="Validation table; default: a stratified split of --data.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto | head | finetune.")] = "auto",
    encoder: Annotated[str | None, typer.Option("--encoder", help="Local HF model folder or hub id.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Fine-tuning epochs (default 8).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (recorded in the manifest).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted fine-tuning run.")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size")] = None,
    learning_rate: Annotated[float | None, typer.Option("--learning-rate")] = None,
    max_length: Annotated[int | None, typer.Option("--max-length", help="Tokens per text.")] = None,
    time_budget_minutes: Annotated[float | None, typer.Option("--time-budget-minutes", help="Fine-tuning time budget (default 20).")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help="auto | bf16 | fp32.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle already at --output.")] = False,
    encrypt_key_env: EncryptKeyEnv = None,
    redact_pii: RedactPii = False,
    dp_epsilon: Annotated[float | None, typer.Option("--dp-epsilon", help="Train the head with DP-SGD (Opacus) to this ε (needs --mode head or auto).")] = None,
    dp_delta: Annotated[float | None, typer.Option("--dp-delta", help="DP δ (default: min(1e-5, 1/(10·n))).")] = None,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    track: Track = None,
) -> None:
    """Train a text classifier (intents, sentiment, topics) on a pretrained transformer."""
    from featureship.api import train
    from featureship.progress import Reporter

    reporter = Reporter()
    model = train(
        "text-classification", data=data, output=output, validation=validation, progress=reporter,
        overwrite=overwrite, encrypt_key=bundle_key(encrypt_key_env, "--encrypt-key-env"),
        redact_pii=redact_pii or None, dp_epsilon=dp_epsilon, dp_delta=dp_delta,
        text_column=text_column, label_column=label_column, mode=mode, encoder=encoder,
        epochs=epochs, seed=seed, resume=resume, batch_size=batch_size, learning_rate=learning_rate,
        max_length=max_length, time_budget_minutes=time_budget_minutes, precision=precision,
        **scale_options(backend, ray_address, workers, track),
    )
    show_training_summary(model)
