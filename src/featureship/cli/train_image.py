"""`featureship train image-classification`."""

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
    scale_options,
    show_training_summary,
    train_app,
    user_errors,
)


@train_app.command("image-classification")
@user_errors
def train_image_classification(
    data: Annotated[Path, typer.Option("--data", help="A folder with one sub-folder per class, or a table with image paths (relative to it) and labels.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the model bundle.")],
    label_column: Annotated[str | None, typer.Option("--label-column", help="Tables: column with the class (default 'label').")] = None,
    image_column: Annotated[str | None, typer.Option("--image-column", help="Tables: column with image paths (default 'path').")] = None,
    image_size: Annotated[int | None, typer.Option("--image-size", help="Side images are resized to (default: 28-64 for the CNN, 224 for the backbone).")] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto | head | finetune | scratch.")] = "auto",
    epochs: Annotated[int | None, typer.Option("--epochs", help="Most epochs for the CNN (default 30; early stopping).")] = None,
    finetune_epochs: Annotated[int | None, typer.Option("--finetune-epochs", help="Most fine-tuning epochs (default 5).")] = None,
    backbone: Annotated[str | None, typer.Option("--backbone", help="Local Hugging Face image-model folder (default EfficientNet-Lite0).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (recorded in the manifest).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")] = False,
    skip_bad_images: Annotated[bool, typer.Option("--skip-bad-images", help="Train without unreadable images (counted in the manifest).")] = False,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Random horizontal flips while training (off for digits, text).")] = True,
    batch_size: Annotated[int | None, typer.Option("--batch-size")] = None,
    learning_rate: Annotated[float | None, typer.Option("--learning-rate")] = None,
    time_budget_minutes: Annotated[float | None, typer.Option("--time-budget-minutes", help="auto trains what fits in it (default 10).")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help="Network training: auto (bf16 where the CPU has it) | bf16 | fp32.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle already at --output.")] = False,
    encrypt_key_env: EncryptKeyEnv = None,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    track: Track = None,
) -> None:
    """Train an image classifier (photos, scans, product images) from a folder or a table."""
    from featureship.api import train
    from featureship.progress import Reporter

    model = train(
        "image-classification", data=data, output=output, encrypt_key=bundle_key(encrypt_key_env, "--encrypt-key-env"), progress=Reporter(), overwrite=overwrite,
        label_column=label_column, image_column=image_column, image_size=image_size, mode=mode,
        epochs=epochs, finetune_epochs=finetune_epochs, backbone=backbone, seed=seed, resume=resume,
        skip_bad_images=skip_bad_images, flip=flip, batch_size=batch_size, learning_rate=learning_rate,
        time_budget_minutes=time_budget_minutes, precision=precision,
        **scale_options(backend, ray_address, workers, track),
    )
    show_training_summary(model)
