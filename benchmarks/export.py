"""ONNX export: accuracy change and speed against the PyTorch source, in one process.

    .venv/bin/python benchmarks/export.py [--datasets banking77,reviews] [--out DIR]

Per data set (../shared/datasets; stratified, seed 0): a `head` model trains on the train
part; `featureship export` writes fp32 ONNX, per-channel int8 (the default of --quantize int8)
and per-tensor int8, each scored against the source on the test part (which no training
choice saw). Speed, on banking77: texts/s at batch 32 over 512 test texts and per-text latency
at batch 1 over 64 texts, for the source in bf16 autocast and fp32 and for each export, with
ratios to the source (bf16 and fp32) measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "src"))

import featureship  # noqa: E402
from featureship.data.splits import stratified_split  # noqa: E402
from featureship.export import export_bundle  # noqa: E402
from featureship.progress import Reporter  # noqa: E402

VARIANTS = ("none", "int8", "int8-per-tensor")


def data(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "banking77":
        frame = pd.read_csv(DATASETS / "banking77" / "train.csv")
        train, test = stratified_split(frame, "category", 0.2, seed=0)
    else:  # a 6,000 / 2,000 sample: the export's cost is the point here, not the best model
        raw = pd.read_csv(DATASETS / "womens-clothing-reviews" / "reviews.csv")
        text = (raw["Title"].fillna("") + ". " + raw["Review Text"].fillna("")).str.strip(" .")
        frame = pd.DataFrame({"text": text, "category": raw["Recommended IND"].astype(str)})
        frame = frame[frame["text"].str.len() > 0].sample(8000, random_state=0).reset_index(drop=True)
        train, test = stratified_split(frame, "category", 0.25, seed=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def speed(model, texts: list[str]) -> dict[str, float]:
    model.predict(texts[:32])  # warm-up
    t = time.perf_counter()
    for start in range(0, 512, 32):
        model.predict(texts[start : start + 32])
    batch32 = 512 / (time.perf_counter() - t)
    t = time.perf_counter()
    for text in texts[:64]:
        model.predict([text])
    single_ms = 1000 * (time.perf_counter() - t) / 64
    return {"texts_per_s_batch32": batch32, "ms_batch1": single_ms}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="banking77,reviews")
    parser.add_argument("--out", type=Path, default=Path("/tmp/featureship-export-bench"))
    args = parser.parse_args()
    results: dict = {}
    for name in args.datasets.split(","):
        train, test = data(name)
        test_csv = args.out / f"{name}-test.csv"
        args.out.mkdir(parents=True, exist_ok=True)
        test.to_csv(test_csv, index=False)
        source = args.out / name
        model = featureship.train("text-classification", data=train, output=source, text_column="text",
                                  label_column="category", mode="head", seed=0, overwrite=True,
                                  progress=Reporter())
        print(f"{name}: {model.describe().chosen} on {len(train)} rows; test {len(test)}")
        entry = {"chosen": model.describe().chosen, "variants": {}}
        for variant in VARIANTS:
            t = time.perf_counter()
            comparison = export_bundle(source, args.out / f"{name}-{variant}", quantize=variant,
                                       data=test_csv, max_drop=100, overwrite=True, progress=Reporter())
            entry["variants"][variant] = {
                "macro_f1": comparison["exported_metrics"]["macro_f1"],
                "accuracy": comparison["exported_metrics"]["accuracy"],
                "change_points": comparison["change_points"], "export_s": time.perf_counter() - t,
                "bytes": (args.out / f"{name}-{variant}" / "encoder" / "encoder.onnx").stat().st_size}
            entry["source_macro_f1"] = comparison["source_metrics"]["macro_f1"]
            print(f"  {variant}: macro-F1 {comparison['exported_metrics']['macro_f1']:.4f} "
                  f"({comparison['change_points']:+.2f} points vs {comparison['source_metrics']['macro_f1']:.4f})")
        if name == "banking77":
            texts = test["text"].tolist()
            source_model = featureship.load(source)
            timing = {"torch bf16" if source_model.encoder.bf16 else "torch fp32 (no bf16 here)":
                      speed(source_model, texts)}
            if source_model.encoder.bf16:
                source_model.encoder.bf16 = False
                timing["torch fp32"] = speed(source_model, texts)
            for variant in VARIANTS:
                timing[f"onnx {variant}"] = speed(featureship.load(args.out / f"{name}-{variant}"), texts)
            base = next(iter(timing.values()))
            fp32 = timing.get("torch fp32", base)
            for label, value in timing.items():
                value["x_vs_bf16_batch32"] = value["texts_per_s_batch32"] / base["texts_per_s_batch32"]
                value["x_vs_fp32_batch32"] = value["texts_per_s_batch32"] / fp32["texts_per_s_batch32"]
                value["x_vs_bf16_batch1"] = base["ms_batch1"] / value["ms_batch1"]
                print(f"  {label:22s} {value['texts_per_s_batch32']:7.1f} texts/s @32 "
                      f"({value['x_vs_bf16_batch32']:.2f}× bf16, {value['x_vs_fp32_batch32']:.2f}× fp32); "
                      f"{value['ms_batch1']:6.1f} ms @1 ({value['x_vs_bf16_batch1']:.2f}× bf16)")
            entry["speed"] = timing
        results[name] = entry
        (args.out / "export-results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
