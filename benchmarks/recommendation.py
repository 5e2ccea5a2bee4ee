"""Recommendation benchmark: MovieLens-100K, leave-one-out, baselines vs featureship's default.

    flock /tmp/featureship-cpu.lock .venv/bin/python benchmarks/recommendation.py [--data DIR]

In one process: popularity, item-kNN, `implicit` ALS and BPR (each lightly tuned on
validation NDCG@10, the best setting then scored once on test) and featureship's default
(`model="auto"`: every family that fits the data, chosen on validation). Protocol: per user,
interactions sorted by time (ties by file order), last = test, previous = validation, rest =
train; every item the user has not interacted with is ranked, and every model reads the same
history (train + the validation item) when it ranks for the test. Prints HR@10, NDCG@10,
MRR@10 on test, training time and the time to rank all items for all users, with ratios to the
best baseline. featureship's defaults were chosen on validation data only
(benchmarks/tune_sasrec.py); this script is the one place the test split is scored. A second
part times `featureship train recommendation` with its defaults end to end (refit included).
The data set is not shipped (GroupLens licence); it is read from ../shared/datasets.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import time
from pathlib import Path

import torch

from featureship.data.readers import read_table
from featureship.progress import Reporter
from featureship.tasks.recommendation.data import leave_one_out, load_interactions
from featureship.tasks.recommendation.models import Validation, make
from featureship.tasks.recommendation.settings import RecommendationSettings
from featureship.tasks.recommendation.task import RecommendationTask, evaluate_split

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "movielens-100k"

GRIDS: dict[str, list[dict]] = {
    "popularity": [{}],
    "itemknn": [{"knn_neighbours": n, "knn_shrinkage": s} for n, s in
                itertools.product((50, 100, 300), (0.0, 10.0, 50.0))],
    "als": [{"factors": f, "als_regularization": r, "als_alpha": a} for f, r, a in
            itertools.product((32, 64, 128), (0.05, 1.0), (1.0, 5.0))],
    "bpr": [{"factors": f, "bpr_learning_rate": lr, "bpr_regularization": 0.01, "bpr_iterations": it}
            for f, lr, it in itertools.product((32, 64), (0.01, 0.05), (100, 300))],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end-to-end", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the CLI with its defaults")
    args = parser.parse_args()
    ratings = args.data / "ratings.csv"
    if not ratings.is_file():
        sys.exit(f"{ratings} not found: put MovieLens-100K (ratings.csv) under ../shared/datasets.")
    torch.set_num_threads(2)
    table = read_table(ratings)
    base = dict(user_column="user_id", item_column="movie_id", time_column="timestamp", seed=args.seed)
    data = load_interactions(table, RecommendationSettings(**base))
    split = leave_one_out(data.sequences)
    valid = Validation(split.valid_users, split.valid_items)
    print(f"MovieLens-100K: {len(data.users)} users, {data.n_items} items, "
          f"{len(data.sequences.items)} interactions; {len(split.test_users)} test users")
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")

    rows = []
    for name, grid in GRIDS.items():
        best = None
        for overrides in grid:
            settings = RecommendationSettings(**base, **overrides)
            model = make(name)
            started = time.perf_counter()
            model.fit(split.train, data.n_items, settings, Reporter(enabled=False), valid)
            seconds = time.perf_counter() - started
            v = evaluate_split(model, split.train, split.valid_users, split.valid_items)
            if best is None or v["ndcg@10"] > best[1]["ndcg@10"]:
                best = (model, v, seconds, overrides)
        model, v, seconds, overrides = best
        t = evaluate_split(model, split.test_history, split.test_users, split.test_items)
        rows.append((name, t, seconds, overrides))
        print(f"  {name:<10} tuned over {len(grid)} setting(s): best {overrides or 'defaults'} "
              f"(valid NDCG@10 {v['ndcg@10']:.4f})", flush=True)

    # featureship's default: the task itself, model="auto", chosen on validation (no refit, so
    # the test numbers are of the model that was selected)
    started = time.perf_counter()
    fitted = RecommendationTask().fit(table, RecommendationSettings(**base, refit=False),
                                      Reporter(enabled=False))
    auto_seconds = time.perf_counter() - started
    manifest = fitted.describe()
    chosen = next(c for c in manifest.candidates if c.name == manifest.chosen)
    rows.append((f"featureship ({manifest.chosen})", chosen.test, chosen.seconds, {}))

    best_baseline = max((r for r in rows[:-1]), key=lambda r: r[1]["ndcg@10"])
    print(f"\nTest (leave-one-out), ratios to the best baseline ({best_baseline[0]}):")
    print(f"{'model':<22}{'HR@10':>8}{'NDCG@10':>9}{'MRR@10':>8}{'ratio':>7}{'train s':>9}{'rank s':>8}")
    for name, t, seconds, _ in rows:
        ratio = t["ndcg@10"] / best_baseline[1]["ndcg@10"]
        print(f"{name:<22}{t['hr@10']:>8.4f}{t['ndcg@10']:>9.4f}{t['mrr@10']:>8.4f}{ratio:>6.2f}x"
              f"{seconds:>9.1f}{t['rank_seconds']:>8.2f}")
    print(f"\nfeatureship auto tried {[c.name for c in manifest.candidates]} in "
          f"{auto_seconds:.0f} s in all; chosen {manifest.chosen} "
          f"(valid NDCG@10 {chosen.validation['ndcg@10']:.4f}, "
          f"best epoch {chosen.details.get('best_epoch', '-')}).")
    if args.end_to_end:
        end_to_end(args.data)


def end_to_end(data: Path) -> None:
    """`featureship train recommendation` with default settings, as a user runs it."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "featureship", "train", "recommendation", "--data",
                   str(data / "ratings.csv"), "--user-column", "user_id", "--item-column",
                   "movie_id", "--time-column", "timestamp", "--rating-column", "rating",
                   "--items", str(data / "movies.csv"), "--item-title-column", "movie_title",
                   "--output", str(Path(tmp) / "recs")]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        print(f"\n`featureship train recommendation` (defaults, refit included) end to end: "
              f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
