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

from modelship.evaluation.ranking import target_ranks
from modelship.nn.sasrec import SASRec as SASRecNet
from modelship.nn.sasrec import SASRecConfig
from modelship.progress import Reporter
from modelship.tasks.recommendation.data import Sequences
from modelship.tasks.recommendation.models.base import Validation, cosine_rows
from modelship.tasks.recommendation.settings import RecommendationSettings


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

    def __init__(self, net: SASRecNet | None = None, info: dict[str, Any] | None = None) -> None:
        self.net = net
        self.info = info or {}
        self.use_bf16 = _bf16_supported()

    # -- training --------------------------------------------------------------------------
    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        torch.manual_seed(settings.seed)
        rng = np.random.default_rng(settings.seed)
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
        self.net = ema
        with progress.step("sasrec: training", total=epochs) as bar:
            for epoch in range(1, epochs + 1):
                loss = self._epoch(net, ema, optimizer, train, trainable, settings, rng)
                record: dict[str, float] = {"epoch": epoch, "loss": loss}
                if valid is not None and len(valid.users):
                    ndcg, stderr = self._valid_ndcg(train, valid)
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
                if time.perf_counter() - started > settings.time_budget_s:
                    progress.note(f"sasrec stopped at epoch {epoch}: the time budget of "
                                  f"{settings.time_budget_s:.0f} s was reached (--time-budget).")
                    break
        if best_state is not None:
            ema.load_state_dict(best_state)
        ema.eval()
        self.info = {"config": asdict(config), "best_epoch": chosen_epoch or len(curve),
                     "best_valid_epoch": best_epoch,
                     "epochs_run": len(curve), "curve": curve,
                     "train_seconds": round(time.perf_counter() - started, 1)}

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

    def _valid_ndcg(self, train: Sequences, valid: Validation) -> tuple[float, float]:
        """Validation NDCG@10 and its standard error over users."""
        histories = Sequences.from_lists([train[u] for u in valid.users])
        scores = self.score(histories, valid.users)
        for j in range(len(histories)):
            scores[j, histories[j]] = -np.inf
        ranks = target_ranks(scores, valid.items)
        per_user = np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0)
        return float(per_user.mean()), float(per_user.std() / np.sqrt(max(len(per_user), 1)))

    # -- inference -------------------------------------------------------------------------
    def score(self, histories: Sequences, users: np.ndarray) -> np.ndarray:
        net = self._require_net()
        net.eval()
        out = []
        for start in range(0, len(histories), 256):
            rows = np.arange(start, min(start + 256, len(histories)))
            seq = torch.from_numpy(_padded(histories, rows, net.config.max_len))
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.use_bf16):
                scores = net.score_next(seq).float()  # (b, n_items + 1)
            out.append(scores[:, 1:].numpy())
        return np.concatenate(out) if out else np.zeros((0, net.config.n_items), np.float32)

    def _require_net(self) -> SASRecNet:
        if self.net is None:
            raise RuntimeError("SASRec has no weights yet: call fit() or from_tensors() first.")
        return self.net

    def similar(self, item: int) -> np.ndarray:
        embeddings = self._require_net().item_emb.weight.detach().float().numpy()[1:]
        return cosine_rows(embeddings, item)

    def tensors(self) -> dict[str, np.ndarray]:
        return {k: v.detach().float().numpy() for k, v in self._require_net().state_dict().items()}

    def config(self) -> dict[str, Any]:
        return self.info

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> SASRec:
        net = SASRecNet(SASRecConfig(**config["config"]))
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
        net.eval()
        return cls(net, config)
