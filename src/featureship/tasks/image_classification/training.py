"""Training steps: a linear head on frozen backbone features, and whole-network training
(the CNN from scratch, or fine-tuning a backbone) through the shared loop in
featureship.training: AdamW, warm-up + cosine schedule, label smoothing, early stopping on
validation macro-F1, a checkpoint per epoch and `--resume`. With a `Shard` of N Ray Train
workers (featureship.backends) the same loop trains data-parallel under DDP."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from featureship.backends.data_parallel import Shard
from featureship.evaluation.classification import classification_metrics
from featureship.nn.device import autocast, use_bf16
from featureship.progress import Reporter, Step
from featureship.tasks.image_classification.augment import augment
from featureship.tasks.image_classification.network import ClassifierNet, batched, to_tensor
from featureship.tasks.image_classification.settings import ImageClassificationSettings
from featureship.training import LoopResult, LoopSettings, fit_loop

# Networks train on the CPU (a GPU path would pick cuda here).
CPU = torch.device("cpu")
# Inverse L2 strength of the logistic head on standardised backbone features.
HEAD_C = 0.5
WARMUP_SHARE = 0.05


@dataclass
class Split:
    pixels: np.ndarray  # (N, C, S, S) uint8
    y: np.ndarray  # (N,) label indices


def features(net: ClassifierNet, pixels: np.ndarray, progress: Reporter, what: str,
             batch_size: int = 64) -> np.ndarray:
    net.eval()
    parts = []
    with progress.step(f"backbone features, {what}", total=len(pixels)) as step, torch.inference_mode():
        for i in range(0, len(pixels), batch_size):
            parts.append(net.features(to_tensor(pixels[i : i + batch_size])).float().numpy())
            step.advance(len(parts[-1]))
    return np.concatenate(parts)


def fit_head(net: ClassifierNet, x_train: np.ndarray, y_train: np.ndarray, n_classes: int, seed: int) -> None:
    """Multinomial logistic regression on standardised features, folded into `net.head`:
    w' = w / σ, b' = b − w'·μ, so serving needs no scaler."""
    mu, sigma = x_train.mean(0), x_train.std(0) + 1e-6
    model = LogisticRegression(C=HEAD_C, max_iter=1000, random_state=seed)
    model.fit((x_train - mu) / sigma, y_train)
    weight = np.zeros((n_classes, x_train.shape[1]), dtype=np.float64)
    bias = np.full(n_classes, -1e4)  # a class absent from training never wins
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes
        weight[model.classes_[1]], weight[model.classes_[0]] = model.coef_[0] / 2, -model.coef_[0] / 2
        bias[model.classes_[1]], bias[model.classes_[0]] = model.intercept_[0] / 2, -model.intercept_[0] / 2
    else:
        weight[model.classes_], bias[model.classes_] = model.coef_, model.intercept_
    weight = weight / sigma
    bias = bias - weight @ mu
    with torch.no_grad():
        net.head.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        net.head.bias.copy_(torch.from_numpy(bias.astype(np.float32)))


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(WARMUP_SHARE * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def predict_logits(net: ClassifierNet, pixels: np.ndarray, batch_size: int = 128) -> np.ndarray:
    net.eval()
    return batched(net, pixels, batch_size)


def run_fingerprint(data_fingerprint: str, settings: ImageClassificationSettings, candidate: str) -> str:
    fields = settings.model_dump(exclude={"resume", "time_budget_minutes", "skip_bad_images"})
    raw = data_fingerprint + candidate + json.dumps(fields, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def training_precision(settings: ImageClassificationSettings) -> bool:
    """True: train the network under bf16 autocast (about 2.4x faster for the CNN on a CPU with
    AMX; batch norm, the loss and the optimizer stay fp32)."""
    return use_bf16(CPU, settings.precision)


def seconds_per_epoch(net: ClassifierNet, train: Split, valid_rows: int, settings: ImageClassificationSettings) -> float:
    """An epoch's seconds from timed steps: augmentation, forward, backward and AdamW step of a
    training batch, plus the forward passes validation costs (weights restored after)."""
    batch_size, bf16 = settings.batch_size, training_precision(settings)
    batch = to_tensor(train.pixels[: min(batch_size, len(train.pixels))])
    targets = torch.as_tensor(train.y[: len(batch)], dtype=torch.long)
    state = {k: v.clone() for k, v in net.state_dict().items()}  # BN statistics move in train()
    optimizer = torch.optim.AdamW(net.parameters())  # its cost, not its rate, is what is timed
    generator = torch.Generator().manual_seed(0)
    net.train()
    timings = []
    # The first steps are slow while allocators warm up and oneDNN builds its (bf16) kernels,
    # forward and backward: only the second half is counted.
    for _ in range(12):
        t0 = time.monotonic()
        pixels = augment(batch, generator, settings.crop_scale, settings.rotation_degrees, settings.flip)
        optimizer.zero_grad(set_to_none=True)
        with autocast(CPU, bf16):
            logits = net(pixels)
        nn.functional.cross_entropy(logits.float(), targets).backward()
        optimizer.step()
        timings.append(time.monotonic() - t0)
    per_step = float(np.median(timings[6:]))
    net.load_state_dict(state)
    net.zero_grad(set_to_none=True)
    net.eval()
    forwards = []
    with torch.inference_mode():
        for _ in range(3):
            t0 = time.monotonic()
            net(batch)
            forwards.append(time.monotonic() - t0)
    per_forward = float(np.median(forwards[1:]))
    return per_step * math.ceil(len(train.pixels) / batch_size) + per_forward * math.ceil(valid_rows / batch_size)


def train_network(net: ClassifierNet, train: Split, valid: Split, labels: list[str],
                  settings: ImageClassificationSettings, *, epochs: int, lr: float, time_budget_s: float,
                  progress: Reporter, checkpoint_dir: Path | None, fingerprint: str,
                  resume: bool, shard: Shard = Shard(), resume_from: Path | None = None,
                  on_epoch=None) -> LoopResult:
    """Train every weight of `net` in place; it ends holding the best epoch's weights.

    With a `shard` of a world of N, this process trains on its part of every global batch
    under DDP: the same batches, augmentation, steps and schedule as one process, gradients
    averaged by all-reduce; validation is split and gathered. Batch-norm statistics are
    computed per worker on its part of the batch (SyncBatchNorm needs a GPU), and DDP
    broadcasts rank 0's running statistics.
    """
    torch.manual_seed(settings.seed)
    batch_size = min(settings.batch_size, len(train.pixels))
    steps = math.ceil(len(train.pixels) / batch_size)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]  # BN and biases
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    scheduler = cosine_schedule(optimizer, steps * epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing, reduction="sum")
    bf16 = training_precision(settings)
    targets = torch.tensor(train.y, dtype=torch.long)  # a copy: arrays from Ray's store are read-only
    forward: nn.Module = net
    if shard.world > 1:  # gradients all-reduced across the workers (gloo on CPU)
        forward = nn.parallel.DistributedDataParallel(net)

    def train_epoch(epoch: int, step: Step) -> float:
        generator = torch.Generator().manual_seed(settings.seed * 1009 + epoch)
        order = torch.randperm(len(train.pixels), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            if len(index) < 2:  # batch norm needs two images
                continue
            # The whole global batch is augmented (the generator draws as in one process), then
            # this rank keeps its part: Ray workers see exactly the images local training sees.
            batch = augment(to_tensor(train.pixels[index.numpy()]), generator, settings.crop_scale,
                            settings.rotation_degrees, settings.flip)
            part, weight = shard.part(list(range(len(index))))
            with autocast(CPU, bf16):
                logits = forward(batch[part])
            summed = loss_fn(logits.float(), targets[index[part]])
            loss = summed * weight  # the mean over the whole batch once DDP averages the ranks
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += summed.item() if weight else 0.0
            seen += len(part) if weight else 0
            step.advance(1)
        total, seen = shard.total(total, seen)
        return total / max(seen, 1)

    def validate() -> dict[str, float]:
        rows = shard.rows(len(valid.pixels))
        mine = predict_logits(net, valid.pixels[rows]).argmax(1)
        predicted = np.zeros(len(valid.pixels), dtype=np.int64)
        for their_rows, their_pred in shard.gather((rows, mine.tolist())):
            predicted[their_rows] = their_pred
        m = classification_metrics([labels[i] for i in valid.y], [labels[i] for i in predicted], labels)
        return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}

    # early stopping only once the cosine schedule is half done (see LoopSettings.min_epochs)
    loop = LoopSettings(epochs=epochs, monitor="macro_f1", patience=settings.patience, min_epochs=epochs // 2,
                        time_budget_s=time_budget_s, checkpoint_dir=checkpoint_dir,
                        resume=resume or resume_from is not None, resume_from=resume_from,
                        fingerprint=fingerprint, on_epoch=on_epoch, agree=shard.any)
    result = fit_loop(net, optimizer, scheduler, train_epoch, validate, loop, progress, steps)
    net.load_state_dict(result.best_state)
    net.eval()
    return result


def ray_worker(config: dict) -> None:
    """One Ray Train worker of data-parallel image training (the driver is `train_network_on_ray`)."""
    import ray
    import ray.train

    from featureship.backends.data_parallel import WorkerCheckpoints
    from featureship.progress import silent

    context = ray.train.get_context()
    shard = Shard(context.get_world_rank(), context.get_world_size())
    torch.set_num_threads(config["threads"])
    data = ray.get(config["payload"])
    checkpoints = WorkerCheckpoints(shard)
    try:
        result = train_network(data["net"], data["train"], data["valid"], data["labels"], data["settings"],
                               epochs=data["epochs"], lr=data["lr"], time_budget_s=data["time_budget_s"],
                               progress=silent(), checkpoint_dir=checkpoints.checkpoint_dir,
                               fingerprint=data["fingerprint"], resume=False, shard=shard,
                               resume_from=checkpoints.resume_from, on_epoch=checkpoints.on_epoch)
        checkpoints.report_final(result)
    finally:
        checkpoints.close()


def train_network_on_ray(net: ClassifierNet, train: Split, valid: Split, labels: list[str],
                         settings: ImageClassificationSettings, *, epochs: int, lr: float,
                         time_budget_s: float, progress: Reporter, storage: Path | None,
                         fingerprint: str, backend) -> tuple[LoopResult, dict]:
    """`train_network` on `backend.workers` Ray Train workers; `net` gets the best weights."""
    from featureship.backends.ray_train import train_data_parallel

    payload = {"net": net, "train": train, "valid": valid, "labels": labels, "settings": settings,
               "epochs": epochs, "lr": lr, "time_budget_s": time_budget_s, "fingerprint": fingerprint}
    result, info = train_data_parallel(ray_worker, {"threads": 1}, payload, backend, storage,
                                       f"image-{time.strftime('%Y%m%d-%H%M%S')}-{fingerprint[:8]}", progress)
    net.load_state_dict(result.best_state)
    net.eval()
    return result, info
