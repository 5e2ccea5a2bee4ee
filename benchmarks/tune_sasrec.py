"""Choose SASRec's defaults on validation data only (MovieLens-100K), never on the test split.

    flock /tmp/featureship-cpu.lock .venv/bin/python benchmarks/tune_sasrec.py [--data DIR]

Dev protocol (a three-way split inside the non-test data): each user's LAST interaction, the
benchmark's test item, is dropped before anything runs. On what remains, leave-one-out again:
the last remaining item is the "dev" target that compares settings, the one before is the
validation target each fit early-stops on, the rest is train. So the test split is never
read here, and the dev split never steers a single fit.

Compared: dropout (0.2, 0.3, 0.5); the epoch rule ("best" validation epoch vs "within-1se",
the latest epoch within one standard error of the best) from the same runs; ensembles of 1,
2 and 3 networks from seeds 0-2; and for the best setting, how to refit on train+validation
(none, continue 3/5/10 epochs, or from scratch). Prints dev NDCG@10 and HR@10 for each.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

from featureship.data.readers import read_table
from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences, leave_one_out, load_interactions
from featureship.tasks.recommendation.models import Validation
from featureship.tasks.recommendation.models.sasrec import EPOCH_RULES, SASRec, fit_network
from featureship.tasks.recommendation.settings import RecommendationSettings
from featureship.tasks.recommendation.task import evaluate_split

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "movielens-100k"
DROPOUTS = (0.2, 0.3, 0.5)
SEEDS = (0, 1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds per network (a cap only)")
    args = parser.parse_args()
    if not (args.data / "ratings.csv").is_file():
        sys.exit(f"{args.data / 'ratings.csv'} not found")
    torch.set_num_threads(2)
    base = dict(user_column="user_id", item_column="movie_id", time_column="timestamp")
    data = load_interactions(read_table(args.data / "ratings.csv"), RecommendationSettings(**base))
    # drop every user's last interaction (the benchmark's test item) before anything else
    without_test = Sequences.from_lists([data.sequences[u][:-1] if len(data.sequences[u]) >= 3
                                         else data.sequences[u] for u in range(len(data.sequences))])
    split = leave_one_out(without_test)
    valid = Validation(split.valid_users, split.valid_items)
    dev = (split.test_history, split.test_users, split.test_items)  # "test" of the inner split
    print(f"dev protocol: {len(split.valid_users)} users; the real test items are never read")

    runs: dict[tuple[float, int], tuple[dict, dict]] = {}
    for dropout, seed in itertools.product(DROPOUTS, SEEDS):
        settings = RecommendationSettings(**base, dropout=dropout, time_budget_s=args.budget, seed=seed)
        started = time.perf_counter()
        nets, info = fit_network(split.train, data.n_items, settings, Reporter(enabled=False), valid,
                                 seed, args.budget, SASRec().use_bf16)
        runs[(dropout, seed)] = (nets, info)
        print(f"  dropout {dropout} seed {seed}: {info['epochs_run']} epochs in "
              f"{time.perf_counter() - started:.0f} s, kept {info['epochs_by_rule']}", flush=True)

    print(f"\n{'dropout':>7} {'rule':>11} {'members':>7} {'dev NDCG@10':>12} {'dev HR@10':>10}"
          f" {'valid NDCG@10':>14} {'train s':>8}")
    results = []
    for dropout, rule, members in itertools.product(DROPOUTS, EPOCH_RULES, (1, 2, 3)):
        chosen = [runs[(dropout, s)] for s in SEEDS[:members]]
        model = SASRec([nets[rule] for nets, _ in chosen])
        dev_metrics = evaluate_split(model, *dev)
        valid_metrics = evaluate_split(model, split.train, split.valid_users, split.valid_items)
        seconds = sum(info["train_seconds"] for _, info in chosen)
        results.append((dev_metrics["ndcg@10"], dropout, rule, members))
        print(f"{dropout:>7} {rule:>11} {members:>7} {dev_metrics['ndcg@10']:>12.4f} "
              f"{dev_metrics['hr@10']:>10.4f} {valid_metrics['ndcg@10']:>14.4f} {seconds:>8.0f}")

    best_single = max(r for r in results if r[3] == 1)
    print(f"\nbest single network on dev: dropout {best_single[1]}, rule {best_single[2]}")
    refit_strategies(split, data.n_items, base, best_single, runs, dev)


def refit_strategies(split, n_items, base, best, runs, dev) -> None:
    """Refit the best single network on train+validation in each way; score on dev."""
    _, dropout, rule, _ = best
    nets, info = runs[(dropout, 0)]
    settings = RecommendationSettings(**base, dropout=dropout, seed=0)
    train_and_valid = split.test_history  # train + the validation item, per user
    print(f"\nrefit on train+validation (dropout {dropout}, rule {rule}, seed 0), scored on dev:")
    print(f"{'refit':>14} {'dev NDCG@10':>12} {'dev HR@10':>10} {'seconds':>8}")
    none = evaluate_split(SASRec([nets[rule]]), *dev)
    print(f"{'none':>14} {none['ndcg@10']:>12.4f} {none['hr@10']:>10.4f} {0:>8}")
    for epochs in (3, 5, 10):
        model = SASRec([_copy(nets[rule])])
        started = time.perf_counter()
        model.continue_training(train_and_valid, settings, epochs, Reporter(enabled=False))
        metrics = evaluate_split(model, *dev)
        print(f"{f'warm {epochs}':>14} {metrics['ndcg@10']:>12.4f} {metrics['hr@10']:>10.4f} "
              f"{time.perf_counter() - started:>8.0f}")
    scratch = settings.model_copy(update={"epochs": int(info["epochs_by_rule"][rule])})
    started = time.perf_counter()
    fresh, _ = fit_network(train_and_valid, n_items, scratch, Reporter(enabled=False), None, 0,
                           1e9, SASRec().use_bf16)
    metrics = evaluate_split(SASRec([fresh["best"]]), *dev)
    print(f"{'scratch':>14} {metrics['ndcg@10']:>12.4f} {metrics['hr@10']:>10.4f} "
          f"{time.perf_counter() - started:>8.0f}")


def _copy(net):
    import copy

    return copy.deepcopy(net)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
