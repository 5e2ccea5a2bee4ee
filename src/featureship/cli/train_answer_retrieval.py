"""`featureship train answer-retrieval`: the knowledge base is the training table; labelled
example questions are optional (`--questions`)."""

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


@train_app.command("answer-retrieval")
@user_errors
def train_answer_retrieval(
    knowledge_base: Annotated[Path, typer.Option("--knowledge-base", help="Table of standard replies, one per row.")],
    id_column: Annotated[str, typer.Option("--id-column", help="Column with each answer's id.")],
    answer_column: Annotated[str, typer.Option("--answer-column", help="Column with the reply text.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the model bundle.")],
    title_column: Annotated[str | None, typer.Option("--title-column", help="Column with a short title per answer.")] = None,
    questions: Annotated[Path | None, typer.Option("--questions", help="Labelled example questions (optional).")] = None,
    question_column: Annotated[str | None, typer.Option("--question-column", help="Column of --questions with the question.")] = None,
    answer_id_column: Annotated[str | None, typer.Option("--answer-id-column", help="Column of --questions with the answer id.")] = None,
    unlabelled: Annotated[Path | None, typer.Option("--unlabelled", help="Unlabelled customer messages: pseudo-labelled and added to the index when that helps on validation.")] = None,
    unlabelled_column: Annotated[str | None, typer.Option("--unlabelled-column", help="Column of --unlabelled with the message.")] = None,
    max_unlabelled: Annotated[int | None, typer.Option("--max-unlabelled", help="Most unlabelled messages used (default 20,000; a seeded sample beyond).")] = None,
    validation: Annotated[Path | None, typer.Option("--validation", help="Labelled questions to validate on; default: a split of --questions.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto | bm25 | frozen | finetune.")] = "auto",
    target_precision: Annotated[float | None, typer.Option("--target-precision", help="Precision wanted on answered questions (default 0.95).")] = None,
    from_bundle: Annotated[Path | None, typer.Option("--from", help="Start from this bundle: keep its encoder and calibration; re-embed only changed answers.")] = None,
    encoder: Annotated[str | None, typer.Option("--encoder", help="Local HF model folder or hub id.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Fine-tuning epochs (default 6).")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Most fine-tuning steps (default 600).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (recorded in the manifest).")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle already at --output.")] = False,
    encrypt_key_env: EncryptKeyEnv = None,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    track: Track = None,
) -> None:
    """Train an assistant that finds the standard reply for a customer's message, or hands off."""
    from featureship.api import train
    from featureship.progress import Reporter

    model = train(
        "answer-retrieval", data=knowledge_base, output=output, progress=Reporter(),
        encrypt_key=bundle_key(encrypt_key_env, "--encrypt-key-env"),
        overwrite=overwrite or (from_bundle is not None and from_bundle.resolve() == output.resolve()),
        validation=validation, id_column=id_column, answer_column=answer_column,
        title_column=title_column, questions=str(questions) if questions else None,
        question_column=question_column, answer_id_column=answer_id_column, mode=mode,
        unlabelled=str(unlabelled) if unlabelled else None, unlabelled_column=unlabelled_column,
        max_unlabelled=max_unlabelled,
        target_precision=target_precision, from_bundle=str(from_bundle) if from_bundle else None,
        encoder=encoder, epochs=epochs, max_steps=max_steps, seed=seed,
        **scale_options(backend, ray_address, workers, track),
    )
    show_training_summary(model)
