"""Words, merging, and the exactness of TF-IDF linear contributions on a real head."""

from __future__ import annotations

import numpy as np
import pytest

from featureship.explain.linear import linear_word_contributions
from featureship.explain.words import merge, split_words, without_words, word_of_offsets
from featureship.tasks.text_classification import features as feat
from featureship.tasks.text_classification.explanations import centred_head
from featureship.tasks.text_classification.model import TextClassifier
from featureship.tasks.text_classification.settings import TextClassificationSettings
from tests.data_sets import banking_subset


def test_words_keep_contractions_and_split_punctuation() -> None:
    words = split_words("I can't find my card?! It's gone")
    assert [w.text for w in words] == ["I", "can't", "find", "my", "card", "?!", "It's", "gone"]
    assert all("I can't find my card?! It's gone"[w.start : w.end] == w.text for w in words)
    assert without_words("I lost my card", split_words("I lost my card"), {1, 3}) == "I my"


def test_sub_word_tokens_merge_onto_their_words() -> None:
    words = split_words("unbelievable card")
    # [CLS] un ##believ ##able card [SEP] with their character spans
    offsets = [(0, 0), (0, 2), (2, 8), (8, 12), (13, 17), (0, 0)]
    owners = word_of_offsets(words, offsets)
    assert owners.tolist() == [-1, 0, 0, 0, 1, -1]
    merged = merge(np.array([9.0, 1.0, 2.0, 3.0, 4.0, 9.0]), owners, len(words))
    assert merged.tolist() == [6.0, 4.0]


@pytest.fixture(scope="module")
def tfidf_model() -> TextClassifier:
    frame = banking_subset(6, 30)
    classes = sorted(set(frame["category"]))
    y = np.array([classes.index(c) for c in frame["category"]])
    tfidf = feat.fit_tfidf(frame["text"].tolist())
    weight, bias = feat.fit_linear_head(tfidf.transform(frame["text"]), y, len(classes), 10.0, 0)
    settings = TextClassificationSettings(text_column="text", label_column="category")
    return TextClassifier(settings, classes, "tfidf", weight, bias, tfidf=tfidf)


def test_tfidf_contributions_sum_exactly_to_the_centred_logit(tfidf_model: TextClassifier) -> None:
    texts = ["My card still hasn't arrived, the card was ordered weeks ago", "card card card",
             "Can I link my card by bank transfer?", "ÉXCHANGE rate for euros", "??"]
    explained = tfidf_model.explain(texts)
    logits = np.asarray(tfidf_model.features(texts) @ tfidf_model.weight.T) + tfidf_model.bias
    centred = logits - logits.mean(1, keepdims=True)
    bias = tfidf_model.bias - tfidf_model.bias.mean()
    for row, explanation in enumerate(explained):
        c = tfidf_model.classes.index(explanation["label"])
        total = sum(a["weight"] for a in explanation["attributions"])
        assert total == pytest.approx(centred[row, c] - bias[c], abs=1e-5)
        assert [a["token"] for a in explanation["attributions"]] == [w.text for w in split_words(texts[row])]
        assert explanation["method"] == "linear"


def test_a_word_the_head_weighs_gets_its_weight_times_its_value(tfidf_model: TextClassifier) -> None:
    text = "waiting"
    words = split_words(text)
    head = centred_head(tfidf_model.weight)
    column = tfidf_model.tfidf.vocabulary_["waiting"]
    value = tfidf_model.tfidf.transform([text])[0, column]
    got = linear_word_contributions(tfidf_model.tfidf, text, words, head[0])
    assert got[0] == pytest.approx(head[0, column] * value, abs=1e-6)


def test_a_repeated_bigram_is_shared_between_its_words(tfidf_model: TextClassifier) -> None:
    text = "exchange rate exchange rate"
    words = split_words(text)
    row = np.ones(tfidf_model.weight.shape[1], dtype=np.float32)  # every feature weighs 1
    got = linear_word_contributions(tfidf_model.tfidf, text, words, row)
    assert got.sum() == pytest.approx(float(tfidf_model.tfidf.transform([text]).sum()), abs=1e-6)
    assert got[0] == pytest.approx(got[2]) and got[1] == pytest.approx(got[3])
