"""Fine-tune the encoder contrastively on labelled questions with sentence-transformers.

Pairs: (question, its answer's text) and (question, another question of the same answer);
`MultipleNegativesRankingLoss` treats the other pairs of a batch as negatives, in both
ways (question → answer and answer → question), and the batch sampler keeps two pairs of one
answer out of one batch, so no question is ever a negative for its own answer. On banking77 at
10 per answer the two lifted held-out top-1 by 0.4 points on average over three splits, and
left it unchanged with self-training (benchmarks/RESULTS.md). The library's trainer does the
loop (warm-up, AdamW, bf16).
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


def training_pairs(kb: KnowledgeBase, questions: Questions,
                   seed: int) -> tuple[list[str], list[str], list[str]]:
    """(anchor, positive, answer id) per pair."""
    index = {a: i for i, a in enumerate(kb.ids)}
    rng = np.random.default_rng(seed)
    by_answer: dict[str, list[str]] = {}
    for text, answer in zip(questions.texts, questions.answer_ids, strict=True):
        by_answer.setdefault(answer, []).append(text)
    anchors, positives, keys = [], [], []
    for answer, texts in by_answer.items():
        document = kb.document(index[answer])
        partners = rng.permutation(len(texts))
        for j, text in enumerate(texts):
            anchors.append(text)
            positives.append(document)
            keys.append(answer)
            other = int(partners[j]) if partners[j] != j else int(partners[(j + 1) % len(texts)])
            if len(texts) > 1 and other != j:
                anchors.append(text)
                positives.append(texts[other])
                keys.append(answer)
    return anchors, positives, keys


def one_answer_per_batch(anchors: list[str], positives: list[str], keys: list[str]) -> type:
    """A batch sampler that keeps two pairs of one answer (or sharing a text) out of a batch.

    Two questions of the same answer in one batch would be each other's in-batch negatives.
    Written here because the library's no-duplicates sampler compares texts only; this is
    its greedy fill (same shuffle, first fit in order) with the answer id as one more value.
    """
    try:
        from sentence_transformers.base.sampler import DefaultBatchSampler
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.sampler import DefaultBatchSampler

    class OneAnswerPerBatch(DefaultBatchSampler):
        def __iter__(self) -> Any:
            generator = self.generator or torch.Generator()
            generator.manual_seed(self.seed + getattr(self, "epoch", 0))
            order = torch.randperm(len(keys), generator=generator).tolist()
            while order:
                batch: list[int] = []
                taken: set[str] = set()
                rest: list[int] = []
                for position, i in enumerate(order):
                    values = {"\x00" + keys[i], anchors[i], positives[i]}
                    if taken.isdisjoint(values):
                        batch.append(i)
                        taken |= values
                        if len(batch) == self.batch_size:
                            rest.extend(order[position + 1:])
                            break
                    else:
                        rest.append(i)
                if len(batch) < self.batch_size and self.drop_last:
                    return
                yield batch
                order = rest

    return OneAnswerPerBatch


def batching(anchors: list[str], positives: list[str], keys: list[str],
             batch_size: int) -> tuple[int, Any]:
    """Batch size and sampler: one pair per answer in a batch when the answers allow it.

    A batch then holds at most one pair per answer, so with fewer answers than `batch_size`
    batches shrink to the number of answers. When one answer has more pairs than there are
    batches (a skewed knowledge base), keeping its pairs apart would end each pass in batches
    of that answer alone, which teach nothing; then only duplicate texts are kept apart.
    """
    from collections import Counter

    counts = Counter(keys)
    size = max(2, min(batch_size, len(counts)))
    if counts and max(counts.values()) <= max(1, len(keys) // size):
        return size, one_answer_per_batch(anchors, positives, keys)
    return batch_size, "no_duplicates"


def symmetric_loss(model: Any) -> Any:
    """In-batch negatives both ways: question → answer and answer → question."""
    import inspect

    try:  # sentence-transformers >= 6 moved the losses (the old path warns)
        from sentence_transformers.sentence_transformer import losses
    except ImportError:
        from sentence_transformers import losses
    if "directions" in inspect.signature(losses.MultipleNegativesRankingLoss).parameters:
        # newer releases merged the symmetric loss into this one (the old class warns)
        return losses.MultipleNegativesRankingLoss(
            model, directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction")
    return losses.MultipleNegativesSymmetricRankingLoss(model)


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

    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "retrieval", "Fine-tuning the retriever") from exc

    for name in ("sentence_transformers", "transformers", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    model = SentenceTransformer(source.path, device=str(device), local_files_only=True)
    model.max_seq_length = settings.max_length
    # a model card is never written: no widget examples, and a non-empty widget list stops the
    # trainer's card callback scanning the data set at start (its "Computing widget examples" bar)
    model.model_card_data.generate_widget_examples = False
    model.model_card_data.widget = [{"text": "unused"}]
    anchors, positives, keys = training_pairs(kb, questions, settings.seed)
    dataset = Dataset.from_dict({"anchor": anchors, "positive": positives})
    batch_size, sampler = batching(anchors, positives, keys, settings.batch_size)
    per_epoch = max(1, len(anchors) // batch_size)
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
            output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size,
            learning_rate=settings.learning_rate, warmup_steps=int(0.1 * steps), seed=settings.seed,
            batch_sampler=sampler, bf16=bf16, use_cpu=device.type == "cpu",
            report_to="none", save_strategy="no", logging_steps=max(1, steps // 10),
            disable_tqdm=True, dataloader_num_workers=0,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                             loss=symmetric_loss(model),
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
