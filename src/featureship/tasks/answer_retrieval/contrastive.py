"""Fine-tune the encoder contrastively on labelled questions with sentence-transformers.

Pairs: (question, its answer's text) and (question, another question of the same answer);
`MultipleNegativesRankingLoss` treats the other pairs of a batch as negatives, and the
no-duplicates batch sampler keeps two pairs sharing a text out of one batch, so an answer is
never its own negative. The library's trainer does the loop (warm-up, AdamW, bf16).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from featureship.errors import MissingExtraError
from featureship.nn.encoder import EncoderSource, TextEncoder
from featureship.progress import Reporter
from featureship.tasks.answer_retrieval.data import KnowledgeBase, Questions
from featureship.tasks.answer_retrieval.settings import AnswerRetrievalSettings


@dataclass
class TuneResult:
    encoder: TextEncoder
    steps: int
    pairs: int
    seconds: float
    loss: float | None


def training_pairs(kb: KnowledgeBase, questions: Questions, seed: int) -> tuple[list[str], list[str]]:
    index = {a: i for i, a in enumerate(kb.ids)}
    rng = np.random.default_rng(seed)
    by_answer: dict[str, list[str]] = {}
    for text, answer in zip(questions.texts, questions.answer_ids, strict=True):
        by_answer.setdefault(answer, []).append(text)
    anchors, positives = [], []
    for answer, texts in by_answer.items():
        document = kb.document(index[answer])
        partners = rng.permutation(len(texts))
        for j, text in enumerate(texts):
            anchors.append(text)
            positives.append(document)
            other = int(partners[j]) if partners[j] != j else int(partners[(j + 1) % len(texts)])
            if len(texts) > 1 and other != j:
                anchors.append(text)
                positives.append(texts[other])
    return anchors, positives


def finetune_encoder(source: EncoderSource, kb: KnowledgeBase, questions: Questions,
                     settings: AnswerRetrievalSettings, device: torch.device, bf16: bool,
                     progress: Reporter) -> TuneResult:
    """A new TextEncoder whose transformer was tuned on (question, answer) pairs."""
    import time

    try:
        from datasets import Dataset
        from sentence_transformers import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from transformers import TrainerCallback

        try:  # sentence-transformers >= 6 moved the losses (the old path warns)
            from sentence_transformers.sentence_transformer.losses import (
                MultipleNegativesRankingLoss,
            )
        except ImportError:
            from sentence_transformers.losses import MultipleNegativesRankingLoss
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "retrieval", "Fine-tuning the retriever") from exc

    for name in ("sentence_transformers", "transformers", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    model = SentenceTransformer(source.path, device=str(device), local_files_only=True)
    model.max_seq_length = settings.max_length
    model.model_card_data.generate_widget_examples = False  # a model card is never written
    anchors, positives = training_pairs(kb, questions, settings.seed)
    dataset = Dataset.from_dict({"anchor": anchors, "positive": positives})
    per_epoch = max(1, len(anchors) // settings.batch_size)
    steps = min(settings.max_steps, per_epoch * settings.epochs)
    losses: list[float] = []

    class Progress(TrainerCallback):  # the trainer's own bars are off; ours report steps
        def __init__(self, step: Any) -> None:
            self.step = step

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.step.advance(1)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    with tempfile.TemporaryDirectory(prefix="featureship-tune-") as scratch, \
            progress.step(f"fine-tuning the encoder on {len(anchors):,} pairs", total=steps) as step:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, max_steps=steps, per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, warmup_steps=int(0.1 * steps), seed=settings.seed,
            batch_sampler="no_duplicates", bf16=bf16, use_cpu=device.type == "cpu",
            report_to="none", save_strategy="no", logging_steps=max(1, steps // 10),
            disable_tqdm=True, dataloader_num_workers=0,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                             loss=MultipleNegativesRankingLoss(model),
                                             callbacks=[Progress(step)])
        for callback in list(trainer.callback_handler.callbacks):
            # the console printer and the model-card widget pass would write past our progress
            if type(callback).__name__ == "PrinterCallback" or "ModelCard" in type(callback).__name__:
                trainer.remove_callback(callback)
        trainer.train()
    transformer = model[0]
    network = transformer.auto_model.float().eval()
    encoder = TextEncoder(source, device, bf16, settings.max_length,
                          parts=(transformer.tokenizer, network))
    return TuneResult(encoder, steps, len(anchors), time.monotonic() - started,
                      losses[-1] if losses else None)
