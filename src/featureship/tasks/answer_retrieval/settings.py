"""Settings of the answer-retrieval task (serialised into the bundle manifest).

How the data arrives through the one-table seam: the table given to `fit` (`--knowledge-base`,
the `data` of `featureship.train`) is the knowledge base, one row per standard reply; labelled
example questions are optional and named by path in `questions` (`--questions`), so a team
with replies and no questions yet (zero-shot) trains with the knowledge base alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from featureship.config import TaskSettings


class AnswerRetrievalSettings(TaskSettings):
    """How to build an answer retriever; every field has a CLI option of the same name."""

    id_column: str = Field(description="Knowledge-base column with each answer's id.")
    answer_column: str = Field(description="Knowledge-base column with the reply text.")
    title_column: str | None = Field(None, description="Optional short title of each answer.")
    questions: str | None = Field(None, description="Optional table of labelled example questions.")
    question_column: str | None = Field(None, description="Column of `questions` with the question.")
    answer_id_column: str | None = Field(None, description="Column of `questions` naming the answer id.")
    unlabelled: str | None = Field(None, description="Optional table of unlabelled customer "
                                   "messages: pseudo-labelled and added to the index when that "
                                   "helps on validation (self-training).")
    unlabelled_column: str | None = Field(None, description="Column of `unlabelled` with the message.")
    max_unlabelled: int = Field(20_000, ge=1, description="Most unlabelled messages used (a "
                                "seeded sample beyond; each is embedded once at training).")
    mode: Literal["auto", "bm25", "frozen", "finetune"] = Field(
        "auto",
        description="bm25: lexical only; frozen: MiniLM + BM25 fused; finetune: the encoder tuned "
        "contrastively on the questions, fused with BM25; auto: the best on validation.",
    )
    target_precision: float = Field(
        0.95, gt=0, le=1, description="Precision wanted on answered questions; the hand-off "
        "threshold is chosen on validation to reach it with the most questions answered.")
    from_bundle: str | None = Field(None, description="Start from this bundle: keep its encoder, "
                                    "examples and calibration; re-embed only changed answers.")
    encoder: str | None = Field(None, description="Local HF model folder or hub id (default MiniLM).")
    max_length: int = Field(128, ge=8, le=512, description="Tokens per text; longer texts are cut.")
    validation_fraction: float = Field(0.2, gt=0, lt=0.9)
    # fine-tuning (sentence-transformers MultipleNegativesRankingLoss, both directions)
    finetune_min_questions: int = Field(
        100, ge=1, description="auto fine-tunes only with at least this many training questions.")
    # 6 epochs (~230 steps, 2.5 min on 2 cores at 10 per answer on banking77) beat 2: held-out
    # top-1 0.845 vs 0.840, and a threshold that held 95% precision (benchmarks/RESULTS.md)
    epochs: int = Field(6, ge=1, le=50)
    max_steps: int = Field(600, ge=1, description="Most optimiser steps (bounds time on big data).")
    batch_size: int = Field(32, ge=2, le=1024)
    learning_rate: float = Field(5e-5, gt=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
