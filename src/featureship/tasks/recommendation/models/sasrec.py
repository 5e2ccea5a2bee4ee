"""SASRec behind the recommender protocol: training loop, early stopping, scoring.

Training choices that make it fit in minutes on a 2-core CPU (measured on MovieLens-100K,
see benchmarks/RESULTS.md): full-softmax loss at every position, small batches (more updates
per second on a CPU), and length-bucketed batches trimmed to their longest history (no compute
on padding). The defaults (dropout, epoch rule, ensemble size, refit) were chosen on
validation data only, by benchmarks/tune_sasrec.py.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import torch

from featureship.evaluation.ranking import target_ranks
from featureship.nn.sasrec import SASRec as SASRecNet
from featureship.nn.sasrec import SASRecConfig
from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences
from featureship.tasks.recommendation.models.base import Validation, cosine_rows
from featureship.tasks.recommendation.settings import RecommendationSettings

EPOCH_RULES = ("best", "within-1se")


def _bf16_supported() -> bool:
    """bf16 autocast only pays on CPUs with native bf16/AVX-512 kernels (checked once)."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(torch.backends.mkldnn.is_available() and check is not None and check())
    except RuntimeError:
        return False


def _padded(histories: Sequences, rows: np.ndarray, max_len: int, shift: int = 1) -> np.ndarray:
    """Left-padded (len(rows), width) item ids (+shift: index 0 is padding), width trimmed."""
    lengths = np.minimum(histories.lengths()[rows], max_len)
    width = max(int(lengths.max()) if len(rows) else 1, 1)
    out = np.zeros((len(rows), width), dtype=np.int64)
    for j, user in enumerate(rows):
        seq = histories[user][-max_len:]
        if len(seq):
            out[j, width - len(seq):] = seq + shift
    return out


class SASRec:
    name: ClassVar[str] = "sasrec"
    needs_time: ClassVar[bool] = True

    def __init__(self, nets: list[SASRecNet] | None = None, info: dict[str, Any] | None = None) -> None:
        self.nets = nets or []
        self.info = info or {}
        self.use_bf16 = _bf16_supported()

    # -- training --------------------------------------------------------------------------
    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        """Train `settings.ensemble` networks from consecutive seeds; scores average them."""
        started = time.perf_counter()
        members = []
        budget = settings.time_budget_s / settings.ensemble
        for member in range(settings.ensemble):
            nets, info = fit_network(train, n_items, settings, progress, valid,
                                     settings.seed + member, budget, self.use_bf16)
            self.nets.append(nets[settings.epoch_rule])
            members.append(info)
        self.info = {"config": members[0]["config"],
                     "best_epoch": round(float(np.mean([m["best_epoch"] for m in members]))),
                     "epochs_run": sum(m["epochs_run"] for m in members),
                     "curve": members[0]["curve"], "members": members,
                     "train_seconds": round(time.perf_counter() - started, 1)}

    def continue_training(self, train: Sequences, settings: RecommendationSettings, epochs: int,
                          progress: Reporter) -> None:
        """Train every member `epochs` more epochs on `train` (the warm refit on all data)."""
        rng = np.random.default_rng(settings.seed)
        trainable = np.flatnonzero(train.lengths() >= 2)
        nets = self._require_nets()
        with progress.step("sasrec: refit on all interactions", total=epochs * len(nets)) as bar:
            for net in nets:
                optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
                for _ in range(epochs):
                    train_epoch(net, net, optimizer, train, trainable, settings, rng, self.use_bf16)
                    bar.advance()
                net.eval()
        self.info = {**self.info, "refit_epochs": epochs}

    # -- inference -------------------------------------------------------------------------
    def score(self, histories: Sequences) -> np.ndarray:
        return score_nets(self._require_nets(), histories, self.use_bf16)

    def contributions(self, history: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Leave-one-out: each target's score minus its score with that one item removed.

        Self-attention mixes items non-linearly, so there is no exact split; leaving each item
        out asks the model directly. Items older than `max_len` are never read: they add 0.
        """
        max_len = self._require_nets()[0].config.max_len
        recent = np.arange(max(len(history) - max_len, 0), len(history))
        variants = [history] + [np.delete(history, i) for i in recent]
        scores = self.score(Sequences.from_lists(variants))[:, targets].astype(np.float64)
        out = np.zeros((len(history), len(targets)))
        out[recent] = scores[0][None, :] - scores[1:]
        return out

    def _require_nets(self) -> list[SASRecNet]:
        if not self.nets:
            raise RuntimeError("SASRec has no weights yet: call fit() or from_tensors() first.")
        return self.nets

    def similar(self, item: int) -> np.ndarray:
        # members' unit item embeddings side by side: the cosine is the mean of the members'
        embeddings = np.hstack([
            _unit(net.item_emb.weight.detach().float().numpy()[1:]) for net in self._require_nets()
        ])
        return cosine_rows(embeddings, item)

    def tensors(self) -> dict[str, np.ndarray]:
        return {f"member{i}.{k}": v.detach().float().numpy()
                for i, net in enumerate(self._require_nets()) for k, v in net.state_dict().items()}

    def config(self) -> dict[str, Any]:
        return self.info

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> SASRec:
        n_members = len({k.split(".", 1)[0] for k in tensors})
        nets = []
        for i in range(n_members):
            net = SASRecNet(SASRecConfig(**config["config"]))
            prefix = f"member{i}."
            net.load_state_dict({k.removeprefix(prefix): torch.from_numpy(v.copy())
                                 for k, v in tensors.items() if k.startswith(prefix)})
            net.eval()
            nets.append(net)
        return cls(nets, config)


def fit_network(train: Sequences, n_items: int, settings: RecommendationSettings,
                progress: Reporter, valid: Validation | None, seed: int, budget: float,
                use_bf16: bool) -> tuple[dict[str, SASRecNet], dict[str, Any]]:
    """Train one network; return it at the epoch each rule picks on validation.

    "best" keeps the epoch with the best validation NDCG@10; "within-1se" the latest epoch
    within one standard error of the best (epochs inside the noise band cannot be told apart
    on validation, and later ones have seen more updates). Training stops `patience` epochs
    after the later of the two, or at the time budget.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = SASRecConfig(n_items=n_items, max_len=settings.max_len, hidden=settings.hidden,
                          n_layers=settings.layers, n_heads=settings.heads, dropout=settings.dropout)
    net = SASRecNet(config)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    trainable = np.flatnonzero(train.lengths() >= 2)  # one item has no next-item pair
    # scoring uses an exponential moving average of the weights when ema_decay > 0
    ema = copy.deepcopy(net) if settings.ema_decay > 0 else net
    best_ndcg, curve = -1.0, []
    kept: dict[str, tuple[int, dict[str, torch.Tensor]]] = {}
    started = time.perf_counter()
    with progress.step(f"sasrec (seed {seed}): training", total=settings.epochs) as bar:
        for epoch in range(1, settings.epochs + 1):
            loss = train_epoch(net, ema, optimizer, train, trainable, settings, rng, use_bf16)
            record: dict[str, float] = {"epoch": epoch, "loss": loss}
            if valid is not None and len(valid.users):
                ndcg, stderr = valid_ndcg([ema], train, valid, use_bf16)
                record["valid_ndcg@10"] = ndcg
                if ndcg > best_ndcg:
                    best_ndcg = ndcg
                    kept["best"] = (epoch, copy.deepcopy(ema.state_dict()))
                if ndcg >= best_ndcg - stderr:
                    kept["within-1se"] = (epoch, copy.deepcopy(ema.state_dict()))
                bar.describe(f"sasrec: epoch {epoch}, valid NDCG@10 {ndcg:.4f} (best {best_ndcg:.4f})")
            curve.append(record)
            bar.advance()
            last_kept = max((e for e, _ in kept.values()), default=epoch)
            if valid is not None and epoch - last_kept >= settings.patience:
                break
            if time.perf_counter() - started > budget:
                progress.note(f"sasrec (seed {seed}) stopped at epoch {epoch}: its share of the "
                              f"time budget ({budget:.0f} s of --time-budget) was reached.")
                break
    ema.eval()
    nets, epochs = {}, {}
    for rule in EPOCH_RULES:
        if rule in kept:
            epochs[rule], state = kept[rule]
            chosen = copy.deepcopy(ema)
            chosen.load_state_dict(state)
            chosen.eval()
        else:  # no validation: the last epoch
            epochs[rule], chosen = len(curve), ema
        nets[rule] = chosen
    info = {"config": asdict(config), "seed": seed, "best_epoch": epochs[settings.epoch_rule],
            "epochs_by_rule": epochs, "epochs_run": len(curve), "curve": curve,
            "train_seconds": round(time.perf_counter() - started, 1)}
    return nets, info


def train_epoch(net: SASRecNet, ema: SASRecNet, optimizer: torch.optim.Optimizer, train: Sequences,
                users: np.ndarray, settings: RecommendationSettings, rng: np.random.Generator,
                use_bf16: bool) -> float:
    """One pass over `users`' sequences; returns the mean loss."""
    net.train()
    lengths = train.lengths()[users]
    # bucket by length (with jitter, so batches vary) and trim each batch to its longest
    order = users[np.argsort(lengths + rng.random(len(users)) * 20, kind="stable")]
    batches = [order[i : i + settings.batch_size] for i in range(0, len(order), settings.batch_size)]
    rng.shuffle(batches)
    total, count = 0.0, 0
    for rows in batches:
        seq = torch.from_numpy(_padded(train, rows, settings.max_len + 1))  # (b, t + 1)
        inputs, targets = seq[:, :-1], seq[:, 1:]  # predict item t+1 from items <= t
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            loss = net.loss(inputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ema is not net:
            with torch.no_grad():
                for averaged, current in zip(ema.parameters(), net.parameters(), strict=True):
                    averaged.lerp_(current, 1.0 - settings.ema_decay)
        total, count = total + float(loss.detach()), count + 1
    return total / max(count, 1)


def valid_ndcg(nets: list[SASRecNet], train: Sequences, valid: Validation,
               use_bf16: bool) -> tuple[float, float]:
    """Validation NDCG@10 and its standard error over users."""
    histories = Sequences.from_lists([train[u] for u in valid.users])
    scores = score_nets(nets, histories, use_bf16)
    for j in range(len(histories)):
        scores[j, histories[j]] = -np.inf
    ranks = target_ranks(scores, valid.items)
    per_user = np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(per_user.mean()), float(per_user.std() / np.sqrt(max(len(per_user), 1)))


def score_nets(nets: list[SASRecNet], histories: Sequences, use_bf16: bool) -> np.ndarray:
    """Mean next-item log-probability over the ensemble: (len(histories), n_items)."""
    out = []
    max_len = nets[0].config.max_len
    for start in range(0, len(histories), 256):
        rows = np.arange(start, min(start + 256, len(histories)))
        seq = torch.from_numpy(_padded(histories, rows, max_len))
        total = None
        for net in nets:
            net.eval()
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
                logits = net.score_next(seq).float()[:, 1:]  # (b, n_items)
            # log-probabilities, so members with different logit scales weigh the same
            log_probs = torch.log_softmax(logits, dim=-1)
            total = log_probs if total is None else total + log_probs
        out.append((total / len(nets)).numpy())
    return np.concatenate(out) if out else np.zeros((0, nets[0].config.n_items), np.float32)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
