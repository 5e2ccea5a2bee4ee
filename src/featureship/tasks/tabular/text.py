"""Free-text columns: TF-IDF (stored as vocabulary JSON + idf arrays, no pickle) and, for the
trees, a text score — a linear model on that column's TF-IDF alone, out-of-fold in training.

Boosted trees split poorly on tens of thousands of sparse word columns; one (or, per class,
a few) dense scores carry the text's signal and stay attributable to the one input column.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold

TFIDF_PARAMS = dict(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                    max_features=50_000, dtype=np.float32)
TEXT_C = 2.0  # logistic regularisation of a text score (unit-norm TF-IDF rows want a weak one)
TEXT_ALPHA = 1.0
FOLDS = 5


def fit_tfidf(texts: list[str]) -> TfidfVectorizer:
    # min_df=2 drops one-off typos; tiny tables may have no term seen twice, so relax it.
    min_df = 2 if len(texts) >= 50 else 1
    for params in ({"min_df": min_df, "max_df": 0.95}, {"min_df": 1, "max_df": 1.0}):
        try:
            return TfidfVectorizer(**TFIDF_PARAMS, **params).fit(texts)
        except ValueError:  # empty vocabulary
            continue
    # No words at all (only symbols): a one-term vocabulary that never fires keeps shapes fixed.
    return tfidf_from_arrays(["\x00"], np.ones(1, np.float32))


def tfidf_arrays(vectorizer: TfidfVectorizer) -> tuple[list[str], np.ndarray]:
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    return vocab, vectorizer.idf_.astype(np.float32)


def tfidf_from_arrays(vocab: list[str], idf: np.ndarray) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(**TFIDF_PARAMS, min_df=1, max_df=1.0,
                                 vocabulary={t: i for i, t in enumerate(vocab)})
    vectorizer.idf_ = idf.astype(np.float64)  # the setter rebuilds the fitted transformer
    return vectorizer


def _scorer(problem: str, class_weight: str | None, seed: int, n_classes: int):
    from featureship.tasks.tabular.linear import logistic

    if problem == "regression":
        return Ridge(alpha=TEXT_ALPHA)
    return logistic(TEXT_C, class_weight, seed, n_classes)


def _scores(model, x: sp.csr_matrix, problem: str) -> np.ndarray:
    if problem == "regression":
        return model.predict(x).reshape(-1, 1)
    out = model.decision_function(x)
    return out.reshape(len(out), -1)


def text_scores(x: sp.csr_matrix, y: np.ndarray, problem: str, class_weight: str | None,
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold scores for the training rows, and (coef, intercept) of a fit on all of them."""
    n_classes = 1 if problem == "regression" else int(y.max()) + 1
    full = _scorer(problem, class_weight, seed, n_classes).fit(x, y)
    n_folds = FOLDS if problem == "regression" else min(FOLDS, int(np.bincount(y).min()))
    if n_folds < 2:  # a class with one row: no folds possible, in-sample it is
        return _scores(full, x, problem), *_coefficients(full)
    folds = (KFold(n_folds, shuffle=True, random_state=seed) if problem == "regression"
             else StratifiedKFold(n_folds, shuffle=True, random_state=seed))
    width = 1 if problem == "regression" else np.asarray(full.coef_).shape[0]
    oof = np.zeros((x.shape[0], width))
    for train, held in folds.split(x, y):
        part = _scorer(problem, class_weight, seed, n_classes).fit(x[train], y[train])
        if problem != "regression" and len(part.classes_) != len(full.classes_):
            oof[held] = _scores(full, x[held], problem)  # a fold without some class
        else:
            oof[held] = _scores(part, x[held], problem)
    return oof, *_coefficients(full)


def _coefficients(model) -> tuple[np.ndarray, np.ndarray]:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    return coef, np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))


def apply_scores(x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    return np.asarray(x @ coef.T) + intercept
