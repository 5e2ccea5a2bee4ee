"""A real retriever on a few banking77 replies: zero-shot, hand-off, knowledge-base changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import featureship
from featureship.errors import DataError
from tests.data_sets import banking_subset
from tests.unit.answer_retrieval.conftest import COLUMNS, QUESTION_COLUMNS, replies


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("answers")
    questions = root / "questions.csv"
    banking_subset(4, 10).to_csv(questions, index=False)
    featureship.train("answer-retrieval", data=replies(), output=root / "frozen", mode="frozen",
                      questions=str(questions), **COLUMNS, **QUESTION_COLUMNS)
    return root / "frozen"


def test_zero_shot_answers_from_the_replies_alone(tmp_path: Path) -> None:
    model = featureship.train("answer-retrieval", data=replies(), output=tmp_path / "zero",
                              **COLUMNS)
    assert model.describe().chosen == "frozen hybrid"
    assert model.retriever.calibration.calibrated is False
    assert "zero-shot" in model.describe().metrics_on or "no labelled" in model.describe().metrics_on
    best = model.ask("my new card still has not arrived")["answers"][0]
    assert best["id"] == "card_arrival"
    assert model.ask("what exchange rate do you use?")["answers"][0]["id"] == "exchange_rate"


def test_the_handoff_flag_follows_the_recorded_threshold(frozen: Path) -> None:
    model = featureship.load(frozen)
    calibration = model.retriever.calibration
    assert calibration.calibrated and model.describe().model["calibration"]["threshold"] == calibration.threshold
    texts = ["Where is my card? It has not arrived", "what colour is the sky on mars", "rate"]
    confidence = model.retriever.probabilities(texts).max(1)
    assert confidence.min() < confidence.max()  # the off-topic message is the least sure
    threshold = float((confidence.min() + confidence.max()) / 2)
    calibration.threshold = threshold
    flags = [r["handoff"] for r in model.ask(texts)]
    assert flags == [bool(c < threshold) for c in confidence]
    assert flags[int(confidence.argmin())] is True and flags[int(confidence.argmax())] is False
    predicted = model.predict(texts)
    assert [p["handoff"] for p in predicted] == flags


def test_updating_the_knowledge_base_changes_answers_without_retraining(frozen: Path, tmp_path: Path) -> None:
    model = featureship.load(frozen)
    weights_before = model.retriever.answer_embeddings.copy()
    edited = replies(["card_arrival"])
    edited.loc[0, "answer"] = "New cards now arrive within 2 working days by courier."
    edited = pd.concat([edited, pd.DataFrame([{
        "id": "terminate_account", "title": "Closing my account",
        "answer": "To close your account, transfer your balance out, then go to Profile > Close account."}])])
    report = model.update_knowledge_base(edited, "update")
    assert report["updated"] == 1 and report["added"] == 1 and report["re_embedded"] == 2
    assert report["unchanged"] == 3 and report["removed"] == 0
    # the untouched answers kept their cached embeddings
    np.testing.assert_array_equal(model.retriever.answer_embeddings[1:4], weights_before[1:4])
    saved = featureship.save(model, tmp_path / "updated")
    again = featureship.load(saved)
    assert again.ask("my card has not arrived yet")["answers"][0]["answer"].startswith("New cards now arrive")
    assert again.ask("I want to close my account")["answers"][0]["id"] == "terminate_account"
    assert again.describe().training["knowledge_base_updates"][0]["added"] == 1


def test_adding_an_existing_id_is_refused(frozen: Path) -> None:
    model = featureship.load(frozen)
    with pytest.raises(DataError, match="already in the knowledge base: card_arrival.*kb update"):
        model.update_knowledge_base(replies(["card_arrival"]), "add")


def test_train_from_a_bundle_takes_a_new_knowledge_base(frozen: Path, tmp_path: Path) -> None:
    kb = replies(["card_arrival", "card_linking", "exchange_rate"])  # one answer removed
    model = featureship.train("answer-retrieval", data=kb, output=tmp_path / "next",
                              from_bundle=str(frozen), **COLUMNS)
    change = model.describe().training["knowledge_base_change"]
    assert change["removed"] == 1 and change["re_embedded"] == 0
    assert "card_payment_wrong_exchange_rate" not in model.kb.ids
    assert set(model.retriever.examples.answers.tolist()) <= {0, 1, 2}


def test_explanations_name_the_matched_text_and_weigh_words(frozen: Path) -> None:
    model = featureship.load(frozen)
    [explanation] = model.explain(["my card still has not arrived"])
    assert explanation["id"] == "card_arrival"
    assert explanation["matched_kind"] in ("example question", "answer")
    words = [a["token"] for a in explanation["attributions"]]
    assert words == "my card still has not arrived".split()
    weights = {a["token"]: a["weight"] for a in explanation["attributions"]}
    # removing the content words lowers the score more than removing "my"
    assert max(weights["card"], weights["arrived"]) > weights["my"]
    assert len(explanation["matched_attributions"]) == len(explanation["matched_text"].split())


def test_a_finetuned_encoder_is_saved_and_reloaded(tmp_path: Path) -> None:
    # two tiny steps: checks the library path and the bundle, not the quality (the benchmark does)
    questions = tmp_path / "questions.csv"
    banking_subset(4, 6).to_csv(questions, index=False)
    model = featureship.train("answer-retrieval", data=replies(), output=tmp_path / "tuned",
                              questions=str(questions), mode="finetune", max_steps=2, batch_size=8,
                              **COLUMNS, **QUESTION_COLUMNS)
    manifest = model.describe()
    assert manifest.chosen == "finetuned hybrid" and manifest.model["encoder"]["finetuned"]
    assert manifest.training["finetune_steps"] == 2
    assert (tmp_path / "tuned" / "encoder" / "config.json").is_file()
    texts = ["my card has not arrived", "what rate do you use"]
    loaded = featureship.load(tmp_path / "tuned")
    assert loaded.predict(texts) == model.predict(texts)
    frozen_embedding = featureship.train(
        "answer-retrieval", data=replies(), output=tmp_path / "plain", mode="frozen",
        **COLUMNS).retriever.answer_embeddings
    assert not np.allclose(loaded.retriever.answer_embeddings, frozen_embedding, atol=1e-4)


def test_unlabelled_messages_join_the_index_under_the_answer_ranked_first(tmp_path: Path) -> None:
    questions, log = tmp_path / "questions.csv", tmp_path / "log.csv"
    banking_subset(4, 10).to_csv(questions, index=False)
    messages = banking_subset(4, 25, skip=10)
    messages[["text"]].to_csv(log, index=False)
    model = featureship.train("answer-retrieval", data=replies(), output=tmp_path / "grown",
                              mode="frozen", questions=str(questions), unlabelled=str(log),
                              unlabelled_column="text", **COLUMNS, **QUESTION_COLUMNS)
    manifest = model.describe()
    names = [c.name for c in manifest.candidates]
    assert names == ["frozen hybrid", "frozen hybrid + self-training"]
    assert manifest.data.extra["unlabelled_messages"] == 100
    # both answer all 8 validation questions of these 4 intents; ties go to the richer one
    assert manifest.chosen == "frozen hybrid + self-training"
    assert manifest.data.extra["pseudo_labelled_examples"] == 100
    retriever = model.retriever
    assert len(retriever.examples.texts) == 40 + 100
    # each message sits under the answer the labelled index ranked first for it
    where = dict(zip(retriever.examples.texts, retriever.examples.answers, strict=True))
    labels = [model.kb.ids[int(where[t])] for t in messages["text"]]
    assert np.mean(np.array(labels) == messages["category"].to_numpy()) >= 0.9
    again = featureship.load(tmp_path / "grown")
    assert again.retriever.examples.texts == retriever.examples.texts
    assert model.ask("my card has not arrived yet")["answers"][0]["id"] == "card_arrival"
