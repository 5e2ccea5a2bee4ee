"""`featureship demo`: a customer-service intent model on banking77, offline, in a few minutes.

banking77 (CC-BY-4.0, PolyAI; see featureship/datasets/README.md) ships inside the package. The
demo holds out 20% as a test set the model never sees, trains on the rest in `head` mode (frozen
MiniLM + a linear head over embeddings and TF-IDF: about a minute on 2 CPU cores), and scores it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from featureship.data.splits import stratified_split
from featureship.progress import Reporter

EXAMPLES = [
    "I still haven't received my new card, it's been two weeks",
    "Why was I charged a fee for taking out cash?",
    "Someone I don't know took money from my account",
    "How do I change my PIN?",
    "The exchange rate you gave me was wrong",
]


def banking77() -> pd.DataFrame:
    return pd.read_csv(files("featureship") / "datasets" / "banking77.csv")


def run_demo(output: Path, seed: int = 0) -> dict:
    from featureship.api import train

    console = Console()
    frame = banking77()
    train_frame, test_frame = stratified_split(frame, "category", 0.2, seed)
    console.rule("[bold]featureship demo: customer-service intent detection (banking77)")
    console.print(f"{len(frame):,} banking queries, {frame['category'].nunique()} intents; "
                  f"training on {len(train_frame):,}, holding out {len(test_frame):,} for the test.")
    model = train(
        "text-classification", data=train_frame.reset_index(drop=True), output=output,
        progress=Reporter(), text_column="text", label_column="category", mode="head", seed=seed,
        overwrite=True,
    )
    test = model.evaluate(test_frame.reset_index(drop=True))

    results = Table(title="results", header_style="bold")
    for column in ("split", "rows", "accuracy", "macro-F1"):
        results.add_column(column, justify="left" if column == "split" else "right")
    data = model.describe().data
    results.add_row("validation (model selection)", f"{data.validation_rows:,}",
                    f"{model.metrics['accuracy']:.4f}", f"{model.metrics['macro_f1']:.4f}")
    results.add_row("held-out test", f"{test['n']:,}", f"{test['accuracy']:.4f}", f"{test['macro_f1']:.4f}")
    console.print(results)

    examples = Table(title="a few predictions", header_style="bold")
    examples.add_column("text")
    examples.add_column("predicted intent")
    examples.add_column("score", justify="right")
    for text, prediction in zip(EXAMPLES, model.predict(EXAMPLES), strict=True):
        examples.add_row(text, prediction["label"], f"{prediction['score']:.2f}")
    console.print(examples)
    console.print(f"model bundle: [bold]{output}/[/]   report: [bold]{output / 'report.html'}[/]")
    console.print(f"serve it:  featureship serve {output}   (then open http://127.0.0.1:8000/ for the console)")
    return test


# Demos of other tasks, by task name: module:function, imported only when asked for.
# task name → the function that demos it; `featureship demo --task` only looks names up here.
TASK_DEMOS = {"text-classification": "featureship.demo:run_demo",
              "answer-retrieval": "featureship.demo_answers:run_answer_demo"}


def run_task_demo(task: str | None, output: Path, seed: int = 0) -> dict:
    """The demo of `task` (see TASK_DEMOS; None: the first); an unknown task is refused."""
    from importlib import import_module

    from featureship.errors import SettingsError

    task = task or next(iter(TASK_DEMOS))
    if task not in TASK_DEMOS:
        known = ", ".join(TASK_DEMOS)
        raise SettingsError(f"There is no demo for '{task}'; demos: {known}.")
    module, _, name = TASK_DEMOS[task].partition(":")
    return getattr(import_module(module), name)(output, seed)
