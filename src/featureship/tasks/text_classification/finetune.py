"""Fine-tune the whole encoder with a classifier head (AdamW, warm-up + linear decay).

Recipe (measured on banking77, see benchmarks/RESULTS.md): start the head from the linear
probe fitted on frozen embeddings (LP-FT: the encoder is not wrecked by a random head's first
gradients), train head and encoder at different rates, label smoothing, bf16 autocast on CPUs
that have it, and length-bucketed batches so padding stays short.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from featureship.backends.data_parallel import Shard
from featureship.evaluation.classification import classification_metrics
from featureship.nn.device import autocast
from featureship.nn.encoder import PAD_TO_MULTIPLE, mean_pool
from featureship.progress import Reporter, Step
from featureship.tasks.text_classification.settings import TextClassificationSettings
from featureship.training import LoopResult, LoopSettings, fit_loop


class EncoderClassifier(nn.Module):
    """Transformer → mean pooling → L2 normalise → dropout → linear head."""

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return nn.functional.normalize(mean_pool(hidden.float(), attention_mask), dim=-1)  # (B, H)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))  # (B, C)


@dataclass
class Tokenised:
    ids: list[list[int]]

    def batch(self, index: Sequence[int], pad_id: int, device: torch.device,
              multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded to the longest, rounded up to `multiple` (bounds the shapes a server meets)."""
        longest = -(-max(len(self.ids[i]) for i in index) // multiple) * multiple
        ids = torch.full((len(index), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(index), longest), dtype=torch.long)
        for row, i in enumerate(index):
            ids[row, : len(self.ids[i])] = torch.tensor(self.ids[i])
            mask[row, : len(self.ids[i])] = 1
        return ids.to(device), mask.to(device)


def tokenise(tokenizer, texts: Sequence[str], max_length: int) -> Tokenised:
    return Tokenised(tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"])


def bucketed_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffle, then sort within chunks of 50 batches by length: random order, little padding."""
    order = torch.randperm(len(lengths), generator=generator).numpy()
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size].tolist() for i in range(0, len(part), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


@torch.inference_mode()
def predict_logits(model: EncoderClassifier, data: Tokenised, pad_id: int, device: torch.device,
                   bf16: bool, batch_size: int = 64) -> np.ndarray:
    lengths = np.array([len(x) for x in data.ids])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(lengths), model.head.out_features), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size].tolist()
        ids, mask = data.batch(index, pad_id, device, PAD_TO_MULTIPLE or 1)
        with autocast(device, bf16):
            logits = model(ids, mask)
        out[index] = logits.float().cpu().numpy()
    return out


def _param_groups(model: EncoderClassifier, settings: TextClassificationSettings) -> list[dict]:
    decay, no_decay = [], []
    for name, param in model.encoder.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    return [
        {"params": decay, "lr": settings.learning_rate, "weight_decay": 0.01},
        {"params": no_decay, "lr": settings.learning_rate, "weight_decay": 0.0},
        {"params": list(model.head.parameters()), "lr": settings.head_learning_rate, "weight_decay": 0.0},
    ]


def fingerprint(data_fingerprint: str, settings: TextClassificationSettings) -> str:
    fields = settings.model_dump(exclude={"resume", "time_budget_minutes"})
    return hashlib.sha256((data_fingerprint + json.dumps(fields, sort_keys=True)).encode()).hexdigest()


def finetune(
    model: EncoderClassifier,
    tokenizer,
    train_texts: list[str],
    train_y: np.ndarray,
    valid_texts: list[str],
    valid_y: np.ndarray,
    labels: list[str],
    settings: TextClassificationSettings,
    device: torch.device,
    bf16: bool,
    progress: Reporter,
    checkpoint_dir: Path | None,
    data_fingerprint: str,
    shard: Shard = Shard(),
    resume_from: Path | None = None,
    on_epoch=None,
) -> LoopResult:
    """Train `model` in place; returns the loop result with the best epoch's weights.

    With a `shard` of a world of N (a Ray Train worker, featureship.backends), the process
    trains on its part of every batch under DDP: the same batches, steps and schedule as one
    process, gradients averaged by all-reduce; validation is split and gathered.
    """
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(settings.seed)
    model.to(device)
    train_tok = tokenise(tokenizer, train_texts, settings.max_length)
    valid_tok = tokenise(tokenizer, valid_texts, settings.max_length)
    lengths = np.array([len(x) for x in train_tok.ids])
    pad_id = tokenizer.pad_token_id or 0
    steps_per_epoch = -(-len(train_texts) // settings.batch_size)
    optimizer = torch.optim.AdamW(_param_groups(model, settings))
    total = steps_per_epoch * settings.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.06 * total), total)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing, reduction="sum")
    targets = torch.tensor(train_y, dtype=torch.long)  # a copy: arrays from Ray's store are read-only
    forward: nn.Module = model
    if shard.world > 1:  # gradients all-reduced across the workers (gloo on CPU, nccl on GPU)
        # find_unused_parameters: HF encoders carry parts mean pooling never uses (BERT's pooler)
        forward = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)

    def train_epoch(epoch: int, step: Step) -> float:
        generator = torch.Generator().manual_seed(settings.seed * 1009 + epoch)
        total_loss, seen = 0.0, 0
        for index in bucketed_batches(lengths, settings.batch_size, generator):
            part, weight = shard.part(index)
            ids, mask = train_tok.batch(part, pad_id, device)
            with autocast(device, bf16):
                logits = forward(ids, mask)
            summed = loss_fn(logits.float(), targets[part].to(device))
            loss = summed * weight  # the mean over the whole batch once DDP averages the ranks
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += summed.item() if weight else 0.0
            seen += len(part) if weight else 0
            step.advance(1)
        total_loss, seen = shard.total(total_loss, seen)
        return total_loss / seen

    def validate() -> dict[str, float]:
        rows = shard.rows(len(valid_tok.ids))
        mine = predict_logits(model, Tokenised([valid_tok.ids[i] for i in rows]), pad_id, device, bf16).argmax(1)
        predicted = np.zeros(len(valid_tok.ids), dtype=np.int64)
        for their_rows, their_pred in shard.gather((rows, mine.tolist())):
            predicted[their_rows] = their_pred
        metrics = classification_metrics([labels[i] for i in valid_y], [labels[i] for i in predicted], labels)
        return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}

    loop = LoopSettings(
        epochs=settings.epochs, monitor="macro_f1", patience=settings.patience,
        time_budget_s=settings.time_budget_minutes * 60, checkpoint_dir=checkpoint_dir,
        resume=settings.resume or resume_from is not None, resume_from=resume_from,
        fingerprint=fingerprint(data_fingerprint, settings), on_epoch=on_epoch, agree=shard.any,
    )
    result = fit_loop(model, optimizer, scheduler, train_epoch, validate, loop, progress, steps_per_epoch)
    model.load_state_dict(result.best_state)
    model.eval()
    return result


def ray_worker(config: dict) -> None:
    """One Ray Train worker of data-parallel fine-tuning (the driver is `finetune_on_ray`)."""
    import ray
    import ray.train

    from featureship.backends.data_parallel import WorkerCheckpoints
    from featureship.progress import silent

    context = ray.train.get_context()
    shard = Shard(context.get_world_rank(), context.get_world_size())
    torch.set_num_threads(config["threads"])
    data = ray.get(config["payload"])
    from ray.train.torch import get_device

    device = get_device() if config["use_gpu"] else torch.device("cpu")
    checkpoints = WorkerCheckpoints(shard)
    try:
        result = finetune(data["net"], data["tokenizer"], data["train_texts"], data["train_y"],
                          data["valid_texts"], data["valid_y"], data["labels"], data["settings"],
                          device, config["bf16"], silent(), checkpoints.checkpoint_dir,
                          data["fingerprint"], shard=shard, resume_from=checkpoints.resume_from,
                          on_epoch=checkpoints.on_epoch)
        checkpoints.report_final(result)
    finally:
        checkpoints.close()


def finetune_on_ray(model: EncoderClassifier, tokenizer, train_texts: list[str], train_y: np.ndarray,
                    valid_texts: list[str], valid_y: np.ndarray, labels: list[str],
                    settings: TextClassificationSettings, bf16: bool, progress: Reporter,
                    storage: Path | None, data_fingerprint: str, backend) -> tuple[LoopResult, dict]:
    """`finetune` on `backend.workers` Ray Train workers; `model` gets the best weights."""
    from featureship.backends.ray_train import train_data_parallel

    payload = {"net": model, "tokenizer": tokenizer, "train_texts": train_texts, "train_y": train_y,
               "valid_texts": valid_texts, "valid_y": valid_y, "labels": labels,
               "settings": settings, "fingerprint": data_fingerprint}
    result, info = train_data_parallel(
        ray_worker, {"threads": 1, "bf16": bf16}, payload, backend, storage,
        f"finetune-{time.strftime('%Y%m%d-%H%M%S')}-{fingerprint(data_fingerprint, settings)[:8]}", progress)
    model.load_state_dict(result.best_state)
    model.eval()
    return result, info
