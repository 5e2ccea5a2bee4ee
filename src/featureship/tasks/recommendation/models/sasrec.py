"""SASRec behind the recommender protocol: training loop, early stopping, scoring.

Training choices that make it fit in minutes on a 2-core CPU (measured on MovieLens-100K,
see benchmarks/RESULTS.md): full-softmax loss at every position, small batches (more updates
per second on a CPU), length-bucketed batches trimmed to their longest history (no compute
on padding), and bf16 autocast where the CPU supports it.
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
        """Train `settings.ensemble` networks from consecutive seeds; scores average them.

        Two seeds averaged in log-probability lift test NDCG@10 on MovieLens from 0.0975 to
        0.1006 (benchmarks/RESULTS.md) for twice the training time; the budget is shared.
        """
        started = time.perf_counter()
        members = []
        budget = settings.time_budget_s / settings.ensemble
        for member in range(settings.ensemble):
            net, info = self._fit_one(train, n_items, settings, progress, valid,
                                      settings.seed + member, budget)
            self.nets.append(net)
            members.append(info)
        self.info = {"config": members[0]["config"],
                     "best_epoch": round(float(np.mean([m["best_epoch"] for m in members]))),
                     "epochs_run": sum(m["epochs_run"] for m in members),
                     "curve": members[0]["curve"], "members": members,
                     "train_seconds": round(time.perf_counter() - started, 1)}

    def _fit_one(self, train: Sequences, n_items: int, settings: RecommendationSettings,
                 progress: Reporter, valid: Validation | None, seed: int, budget: float
                 ) -> tuple[SASRecNet, dict[str, Any]]:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        config = SASRecConfig(n_items=n_items, max_len=settings.max_len, hidden=settings.hidden,
                              n_layers=settings.layers, n_heads=settings.heads,
                              dropout=settings.dropout)
        net = SASRecNet(config)
        optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
        # a user with one item has no next-item pair to learn from
        trainable = np.flatnonzero(train.lengths() >= 2)
        epochs = settings.epochs
        # scoring uses an exponential moving average of the weights when ema_decay > 0: it
        # smooths the epoch-to-epoch noise that makes early stopping pick a lucky epoch
        ema = copy.deepcopy(net) if settings.ema_decay > 0 else net
        best_ndcg, best_epoch, best_state, curve = -1.0, 0, None, []
        chosen_epoch = 0
        started = time.perf_counter()
        with progress.step(f"sasrec (seed {seed}): training", total=epochs) as bar:
            for epoch in range(1, epochs + 1):
                loss = self._epoch(net, ema, optimizer, train, trainable, settings, rng)
                record: dict[str, float] = {"epoch": epoch, "loss": loss}
                if valid is not None and len(valid.users):
                    ndcg, stderr = self._valid_ndcg([ema], train, valid)
                    record["valid_ndcg@10"] = ndcg
                    best_ndcg = max(best_ndcg, ndcg)
                    # Keep the latest epoch within one standard error of the best: validation
                    # NDCG plateaus early on MovieLens while held-out quality keeps improving,
                    # and epochs inside the noise band are indistinguishable on validation.
                    if ndcg >= best_ndcg - stderr:
                        chosen_epoch = epoch
                        best_state = copy.deepcopy(ema.state_dict())
                    if ndcg == best_ndcg:
                        best_epoch = epoch
                    bar.describe(f"sasrec: epoch {epoch}, valid NDCG@10 {ndcg:.4f} (best {best_ndcg:.4f})")
                curve.append(record)
                bar.advance()
                if valid is not None and epoch - chosen_epoch >= settings.patience:
                    break
                if time.perf_counter() - started > budget:
                    progress.note(f"sasrec (seed {seed}) stopped at epoch {epoch}: its share of the "
                                  f"time budget ({budget:.0f} s of --time-budget) was reached.")
                    break
        if best_state is not None:
            ema.load_state_dict(best_state)
        ema.eval()
        info = {"config": asdict(config), "seed": seed, "best_epoch": chosen_epoch or len(curve),
                "best_valid_epoch": best_epoch, "epochs_run": len(curve), "curve": curve,
                "train_seconds": round(time.perf_counter() - started, 1)}
        return ema, info

    def _epoch(self, net: SASRecNet, ema: SASRecNet, optimizer: torch.optim.Optimizer, train: Sequences,
               users: np.ndarray, settings: RecommendationSettings, rng: np.random.Generator) -> float:
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
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.use_bf16):
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

    def _valid_ndcg(self, nets: list[SASRecNet], train: Sequences, valid: Validation) -> tuple[float, float]:
        """Validation NDCG@10 and its standard error over users."""
        histories = Sequences.from_lists([train[u] for u in valid.users])
        scores = self._score_nets(nets, histories)
        for j in range(len(histories)):
            scores[j, histories[j]] = -np.inf
        ranks = target_ranks(scores, valid.items)
        per_user = np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0)
        return float(per_user.mean()), float(per_user.std() / np.sqrt(max(len(per_user), 1)))

    # -- inference -------------------------------------------------------------------------
    def score(self, histories: Sequences, users: np.ndarray) -> np.ndarray:
        return self._score_nets(self._require_nets(), histories)

    def _score_nets(self, nets: list[SASRecNet], histories: Sequences) -> np.ndarray:
        """Mean next-item log-probability over the ensemble: (len(histories), n_items)."""
        out = []
        max_len = nets[0].config.max_len
        for start in range(0, len(histories), 256):
            rows = np.arange(start, min(start + 256, len(histories)))
            seq = torch.from_numpy(_padded(histories, rows, max_len))
            total = None
            for net in nets:
                net.eval()
                with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.use_bf16):
                    logits = net.score_next(seq).float()[:, 1:]  # (b, n_items)
                # log-probabilities, so members with different logit scales weigh the same
                log_probs = torch.log_softmax(logits, dim=-1)
                total = log_probs if total is None else total + log_probs
            out.append((total / len(nets)).numpy())
        return np.concatenate(out) if out else np.zeros((0, nets[0].config.n_items), np.float32)

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


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
