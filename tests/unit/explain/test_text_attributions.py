"""Integrated gradients on a small real intent model: completeness, faithfulness, hybrid heads."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import featureship
from featureship.errors import MissingExtraError
from featureship.explain.faithfulness import Attributed, deletion_scores
from featureship.nn.encoder import mean_pool
from featureship.tasks.text_classification import features as feat
from featureship.tasks.text_classification.explanations import centred_head, explain_words
from featureship.tasks.text_classification.model import TextClassifier
from tests.data_sets import banking_subset

TEXTS = ["I lost my card yesterday, what should I do?", "my card has not arrived yet",
         "What exchange rate do you use for euros?"]


@pytest.fixture(scope="module")
def model(text_bundle: Path) -> TextClassifier:
    loaded = featureship.load(text_bundle)
    assert loaded.kind == "embedding"  # a frozen-encoder head: integrated gradients
    return loaded


def _centred(logits: np.ndarray) -> np.ndarray:
    return logits - logits.mean(1, keepdims=True)


def _baseline_embedding(model: TextClassifier, text: str) -> np.ndarray:
    """The encoder's pooled embedding of the text with every word replaced by padding."""
    tok = model.encoder.tokenizer
    ids = tok(text, truncation=True, max_length=model.encoder.max_length)["input_ids"]
    base = [ids[0]] + [tok.pad_token_id] * (len(ids) - 2) + [ids[-1]]
    ids_t, mask = torch.tensor([base]), torch.ones(1, len(base), dtype=torch.long)
    with torch.no_grad():
        hidden = model.encoder.model(input_ids=ids_t, attention_mask=mask).last_hidden_state
    return torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1).numpy()


def test_integrated_gradients_are_complete(model: TextClassifier) -> None:
    # sum of word weights = f(x) - f(baseline), f = centred logit of the predicted class,
    # both computed here through the model's own prediction path, not the explainer's
    explained = explain_words(model, TEXTS)
    logits = _centred(np.asarray(model.features(TEXTS) @ model.weight.T) + model.bias)
    for row, e in enumerate(explained):
        base = _centred(_baseline_embedding(model, e.text) @ model.weight.T + model.bias)
        expected = logits[row, e.target] - base[0, e.target]
        assert abs(expected) > 0.5  # a real change to explain
        assert e.weights.sum() == pytest.approx(expected, rel=0.02, abs=0.02)
        assert len(e.weights) == len(e.words) and np.isfinite(e.weights).all()


def test_explain_answers_words_in_reading_order(model: TextClassifier) -> None:
    [explanation] = model.explain(["My card hasn't arrived, why?"])
    assert [a["token"] for a in explanation["attributions"]] == ["My", "card", "hasn't", "arrived", ",", "why", "?"]
    assert explanation["label"] == model.predict(["My card hasn't arrived, why?"])[0]["label"]
    assert explanation["method"] == "integrated-gradients"
    top = max(explanation["attributions"], key=lambda a: a["weight"])
    assert top["token"] in {"card", "arrived", "hasn't"}


def test_deleting_the_top_words_hurts_more_than_deleting_random_words(model: TextClassifier) -> None:
    held_out = banking_subset(15, 3, skip=40)["text"].tolist()  # not in the bundle's training rows
    texts = [t for t in held_out if len(t.split()) >= 5][:24]
    items = [Attributed(e.text, e.words, e.weights, e.target, e.probability)
             for e in explain_words(model, texts)]
    scores = deletion_scores(model.probabilities, items, ks=(1, 2), random_draws=3, seed=0)
    assert scores["top2_drop"] > scores["random2_drop"] > -0.05
    assert scores["top1_drop"] > scores["random1_drop"]
    assert scores["top2_sufficiency"] < scores["random2_sufficiency"]


def test_a_hybrid_head_adds_exact_tfidf_shares_to_integrated_gradients(model: TextClassifier) -> None:
    frame = banking_subset(15, 40)
    texts = frame["text"].tolist()
    y = np.array([model.classes.index(c) for c in frame["category"]])
    tfidf = feat.fit_tfidf(texts)
    sparse_w, sparse_b = feat.fit_linear_head(tfidf.transform(texts), y, len(model.classes), 10.0, 0)
    # the blend `auto` builds from a fine-tuned head and a TF-IDF head, here on the frozen one
    weight = np.hstack([0.7 * model.weight, 0.3 * sparse_w]).astype(np.float32)
    bias = (0.7 * model.bias + 0.3 * sparse_b).astype(np.float32)
    hybrid = TextClassifier(model.settings, model.classes, "hybrid", weight, bias, model.encoder,
                            False, tfidf)
    explained = explain_words(hybrid, TEXTS)
    logits = _centred(np.asarray(hybrid.features(TEXTS) @ weight.T) + bias)
    head = centred_head(weight)
    dim = model.encoder.dim
    for row, e in enumerate(explained):
        base = _baseline_embedding(model, e.text) @ head[:, :dim].T + (bias - bias.mean())
        expected = logits[row, e.target] - base[0, e.target]  # baseline: no words, no TF-IDF
        assert e.weights.sum() == pytest.approx(expected, rel=0.02, abs=0.02)
    assert hybrid.explain(TEXTS[:1])[0]["method"] == "integrated-gradients+linear"


def test_without_captum_the_error_names_the_extra(model: TextClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "captum.attr", None)  # import fails as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'featureship\[explain\]'"):
        model.explain(["my card"])


def test_the_report_shows_explained_validation_examples(text_bundle: Path) -> None:
    report = (text_bundle / "report.html").read_text(encoding="utf-8")
    assert "Why it decided: validation examples" in report
    assert report.count("class='fs-expl'") == 5 and "true label:" in report
