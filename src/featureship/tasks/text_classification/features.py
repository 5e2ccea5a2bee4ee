"""Sparse TF-IDF features and linear heads, stored as JSON + safetensors (no pickle).

TF-IDF catches the exact words a frozen sentence encoder blurs (long reviews, product terms),
so `auto` weighs it as a candidate and as half of a hybrid with the embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

TFIDF_PARAMS = dict(
    ngram_range=(1, 2), min_df=2, max_df=0.95, sublinear_tf=True, strip_accents="unicode",
    max_features=200_000, dtype=np.float32,
)


def fit_tfidf(texts: list[str]) -> TfidfVectorizer | None:
    """Fit TF-IDF; None when the texts hold no words at all (emoji, single characters)."""
    # min_df=2 drops one-off typos; tiny data sets may have no term seen twice, so relax it.
    min_df = 2 if len(texts) >= 50 else 1
    for params in ({"min_df": min_df}, {"min_df": 1, "max_df": 1.0}):
        try:
            return TfidfVectorizer(**{**TFIDF_PARAMS, **params}).fit(texts)
        except ValueError:  # empty vocabulary
            continue
    return None


def tfidf_arrays(vectorizer: TfidfVectorizer) -> tuple[list[str], np.ndarray]:
    """Vocabulary in column order, and idf weights: everything needed to rebuild it."""
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    return vocab, vectorizer.idf_.astype(np.float32)


def tfidf_from_arrays(vocab: list[str], idf: np.ndarray) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(**{**TFIDF_PARAMS, "min_df": 1, "max_df": 1.0},
                                 vocabulary={t: i for i, t in enumerate(vocab)})
    vectorizer.idf_ = idf.astype(np.float64)  # the setter rebuilds the fitted transformer
    return vectorizer


def save_vocabulary(path: Path, vocab: list[str]) -> None:
    path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


def load_vocabulary(path: Path) -> list[str]:
    return json.loads(path.read_text(encoding="utf-8"))


def combine(embeddings: np.ndarray | None, tfidf: sp.spmatrix | None) -> np.ndarray | sp.csr_matrix:
    """Feature matrix for the linear head: dense embeddings, sparse TF-IDF, or both side by side."""
    if tfidf is None:
        return embeddings
    if embeddings is None:
        return tfidf
    return sp.hstack([sp.csr_matrix(embeddings), tfidf], format="csr")


def fit_linear_head(features, labels: np.ndarray, n_classes: int, C: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression → (weight (C, D), bias (C,)), as a torch Linear would hold."""
    model = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    model.fit(features, labels)
    weight = np.zeros((n_classes, features.shape[1]), dtype=np.float32)
    bias = np.full(n_classes, -1e4, dtype=np.float32)  # classes absent from training never win
    if len(model.classes_) == 2 and model.coef_.shape[0] == 1:  # binary: sklearn keeps one row
        weight[model.classes_[1]] = model.coef_[0] / 2
        weight[model.classes_[0]] = -model.coef_[0] / 2
        bias[model.classes_[1]], bias[model.classes_[0]] = model.intercept_[0] / 2, -model.intercept_[0] / 2
    else:
        weight[model.classes_] = model.coef_
        bias[model.classes_] = model.intercept_
    return weight, bias


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
