"""`featureship demo --task answer-retrieval`: a customer-service assistant on banking77, offline.

The knowledge base is the 77 standard replies written for this project (one per banking77
intent, featureship/datasets/banking77_answers.csv); 5 labelled questions per intent come from
the bundled banking77 data, and a seeded sample of other messages is held out to score it.
`frozen` mode (MiniLM + BM25, no fine-tuning) keeps the demo to about a minute on 2 cores.
"""

from __future__ import annotations

import tempfile
from importlib.resources import files
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from featureship.progress import Reporter

EXAMPLES = [
    "I still haven't received my new card, it's been two weeks",
    "Why was I charged a fee for taking out cash?",
    "How do I change my PIN?",
    "Can you recommend a good pizza place nearby?",
    "my thing is broken",
]
SHOTS = 5
HELD_OUT_PER_INTENT = 4


def banking77_answers() -> pd.DataFrame:
    return pd.read_csv(files("featureship") / "datasets" / "banking77_answers.csv")


def run_answer_demo(output: Path, seed: int = 0) -> dict:
    from featureship.api import train
    from featureship.demo import banking77

    console = Console()
    kb = banking77_answers()
    messages = banking77().sample(frac=1.0, random_state=seed)
    labelled = messages.groupby("category", sort=False).head(SHOTS)
    held_out = messages.drop(labelled.index).groupby("category", sort=False).head(HELD_OUT_PER_INTENT)
    console.rule("[bold]featureship demo: answering customers from a knowledge base (banking77)")
    console.print(f"{len(kb)} standard replies; {len(labelled):,} example questions ({SHOTS} per "
                  f"reply); {len(held_out):,} other customer messages held out for the test.")
    with tempfile.TemporaryDirectory() as scratch:
        questions = Path(scratch) / "questions.csv"
        labelled.to_csv(questions, index=False)
        model = train("answer-retrieval", data=kb, output=output, progress=Reporter(),
                      overwrite=True, id_column="id", answer_column="answer", title_column="title",
                      questions=str(questions), question_column="text",
                      answer_id_column="category", mode="frozen", seed=seed)
    test = model.evaluate(held_out.reset_index(drop=True))
    results = Table(title="held-out customer messages", header_style="bold")
    for column in ("top-1", "recall@3", "answered (not handed off)", "precision when answered"):
        results.add_column(column, justify="right")
    results.add_row(f"{test['accuracy']:.3f}", f"{test['recall_at_3']:.3f}",
                    f"{test['coverage']:.1%}", f"{test['answered_precision']:.3f}")
    console.print(results)
    answers = Table(title="the assistant at work", header_style="bold")
    for column in ("message", "reply", "score", "action"):
        answers.add_column(column, justify="right" if column == "score" else "left")
    for text, result in zip(EXAMPLES, model.ask(EXAMPLES, k=1), strict=True):
        best = result["answers"][0]
        action = "[yellow]hand off to a person[/]" if result["handoff"] else "[green]answer[/]"
        answers.add_row(text, f"{best['id']}: {best['answer'][:70]}…", f"{best['score']:.2f}", action)
    console.print(answers)
    console.print(f"model bundle: [bold]{output}/[/]   report: [bold]{output / 'report.html'}[/]")
    console.print(f'ask it:    featureship ask {output} "my card has not arrived"')
    console.print(f"serve it:  featureship serve {output}   (POST /v1/models/{output.name}/answer)")
    return test
