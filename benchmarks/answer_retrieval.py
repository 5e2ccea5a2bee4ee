"""Answer retrieval on banking77: few-shot top-1, recall@3, hand-off coverage, speed.

Knowledge base: the 77 standard replies shipped with featureship (one per intent). From the
packaged banking77 train.csv copy, a seeded test set of `--test-per-intent` messages per intent
is held out first; labelled questions are then the first k of each intent's remaining messages
for k in --ks ("all" = every remaining message). Test messages are never seen in training.

Baselines in the same run, on the same splits:
    bm25        BM25 alone over each answer's text and its example questions (featureship --mode bm25)
    frozen-nn   frozen MiniLM, nearest example question (answer texts too, so k=0 works)
    frozen-lr   frozen MiniLM + logistic regression on the k examples (k >= 2)
    featureship --mode auto (fine-tunes when there are >= 100 training questions)

Coverage: share of test messages answered at the threshold recorded in the bundle (chosen on
validation for 95% precision), with the precision actually reached; `oracle` columns pick the
threshold on the test set itself (an upper bound, the only option for the baselines).

    PYTHONPATH=src python benchmarks/answer_retrieval.py --ks 0,5,10,30,all --out benchmarks/answer_retrieval.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import featureship
from featureship.nn.device import pick_device, use_bf16
from featureship.nn.encoder import TextEncoder, resolve_encoder
from featureship.progress import silent
from featureship.tasks.answer_retrieval.calibration import coverage_at


def splits(seed: int, test_per_intent: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(files("featureship") / "datasets" / "banking77.csv")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    test = frame.groupby("category", sort=False).head(test_per_intent)
    pool = frame.drop(test.index)
    return pool.reset_index(drop=True), test.reset_index(drop=True)


def shots(pool: pd.DataFrame, k: str) -> pd.DataFrame:
    return pool if k == "all" else pool.groupby("category", sort=False).head(int(k))


def scores_metrics(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.argmax(order == truth[:, None], axis=1) + 1
    confidence = scores.max(1)
    return {"top1": float((ranks == 1).mean()), "recall_at_3": float((ranks <= 3).mean()),
            "oracle_coverage_at_95": coverage_at(confidence, ranks == 1, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ks", default="0,5,10,30,all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-per-intent", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/answer_retrieval.json"))
    parser.add_argument("--mode", default="auto", help="featureship's --mode (auto fine-tunes at >= 100 questions)")
    parser.add_argument("--max-steps", type=int, default=None, help="cap on fine-tuning steps")
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: the task's)")
    parser.add_argument("--no-unlabelled", dest="unlabelled", action="store_false",
                        help="skip the run that gets the rest of the pool as unlabelled messages")
    args = parser.parse_args()
    kb = pd.read_csv(files("featureship") / "datasets" / "banking77_answers.csv")
    ids = kb["id"].tolist()
    index = {a: i for i, a in enumerate(ids)}
    pool, test = splits(args.seed, args.test_per_intent)
    truth = test["category"].map(index).to_numpy()
    device = pick_device()
    encoder = TextEncoder(resolve_encoder(None), device, use_bf16(device), 128)
    documents = [f"{t}{'' if t[-1] in '.?!:' else '.'} {a}" for t, a in zip(kb.title, kb.answer, strict=True)]
    t0 = time.perf_counter()
    test_emb = encoder.embed(test["text"].tolist(), 64)
    frozen_qps = len(test) / (time.perf_counter() - t0)
    doc_emb = encoder.embed(documents, 64)
    results = []
    work = Path(tempfile.mkdtemp(prefix="answer-bench-"))
    for k in args.ks.split(","):
        labelled = shots(pool, k)
        row: dict[str, object] = {"k": k, "questions": len(labelled), "test": len(test)}
        questions_csv = work / f"questions-{k}.csv"
        labelled.to_csv(questions_csv, index=False)
        question_settings = ({"questions": str(questions_csv), "question_column": "text",
                              "answer_id_column": "category"} if len(labelled) else {})
        # frozen baselines
        emb = encoder.embed(labelled["text"].tolist(), 64) if len(labelled) else np.zeros((0, doc_emb.shape[1]))
        y = labelled["category"].map(index).to_numpy()
        nn_scores = test_emb @ doc_emb.T
        if len(labelled):
            sims = test_emb @ emb.T
            for a in range(len(ids)):
                mine = y == a
                if mine.any():
                    nn_scores[:, a] = np.maximum(nn_scores[:, a], sims[:, mine].max(1))
        row["frozen-nn"] = scores_metrics(nn_scores, truth)
        if k != "0":
            t0 = time.perf_counter()
            lr = LogisticRegression(C=10.0, max_iter=2000).fit(emb, y)
            probs = np.zeros((len(test), len(ids)))
            probs[:, lr.classes_] = lr.predict_proba(test_emb)
            row["frozen-lr"] = {**scores_metrics(probs, truth), "train_seconds": time.perf_counter() - t0}
        # featureship: BM25 alone, then auto, then auto given the rest of the pool unlabelled
        # (customer messages nobody labelled; never the held-out test messages)
        runs = [("bm25", "bm25", {}), ("featureship", args.mode, {})]
        rest = pool.drop(labelled.index)
        if args.unlabelled and len(rest) and len(labelled):
            unlabelled_csv = work / f"unlabelled-{k}.csv"
            rest[["text"]].to_csv(unlabelled_csv, index=False)
            runs.append(("featureship+unlabelled", args.mode,
                         {"unlabelled": str(unlabelled_csv), "unlabelled_column": "text"}))
        for name, mode, more in runs:
            t0 = time.perf_counter()
            extra = {key: value for key, value in (("max_steps", args.max_steps),
                                                   ("epochs", args.epochs)) if value}
            model = featureship.train(
                "answer-retrieval", data=kb, output=work / f"{name}-{k}", progress=silent(),
                id_column="id", answer_column="answer", title_column="title", mode=mode,
                seed=args.seed, **question_settings, **extra, **more)
            train_seconds = time.perf_counter() - t0
            texts = test["text"].tolist()
            t0 = time.perf_counter()
            probs = model.retriever.probabilities(texts)
            qps = len(texts) / (time.perf_counter() - t0)
            confidence = probs.max(1)
            correct = probs.argmax(1) == truth
            answered = confidence >= model.retriever.calibration.threshold
            row[name] = {**scores_metrics(probs, truth), "train_seconds": train_seconds,
                         "queries_per_second": qps, "chosen": model.describe().chosen,
                         "coverage": float(answered.mean()),
                         "answered_precision": float(correct[answered].mean()) if answered.any() else None,
                         "calibrated": model.retriever.calibration.calibrated,
                         "validation": model.metrics}
        row["frozen_encoder_queries_per_second"] = frozen_qps
        row["featureship_mode"] = args.mode
        print(json.dumps(row), flush=True)
        results.append(row)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
