"""Word attributions for a text classifier's predicted class, faithful to each head.

What is explained: the predicted class's *centred logit*, its logit minus the mean logit over
classes. Softmax ignores a shift shared by all classes, so this is the part of the logit that
moves the probability, and it is linear in the head's features, so the two halves of a hybrid
head add up in one unit.

- `tfidf` head: exact linear contributions of the n-gram features, shared onto words.
- `embedding` head (frozen or fine-tuned encoder): layer integrated gradients on the word
  embeddings, sub-word tokens summed into words; baseline = the text with every word replaced
  by padding.
- `hybrid` head: both, added per word. The TF-IDF half is exact; the embedding half is
  integrated gradients of its own (linear) share of the score, with the TF-IDF features held
  fixed, so the sum over words is the whole score minus its value with all words removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from featureship.explain.linear import linear_word_contributions
from featureship.explain.words import Word, as_attributions, merge, split_words, word_of_offsets
from featureship.nn.encoder import mean_pool

if TYPE_CHECKING:
    from featureship.tasks.text_classification.model import TextClassifier

METHODS = {"tfidf": "linear", "embedding": "integrated-gradients",
           "hybrid": "integrated-gradients+linear"}


@dataclass
class WordExplanation:
    text: str
    words: list[Word]
    weights: np.ndarray  # (words,): contribution of each word to the centred logit of `target`
    target: int
    probability: float
    ig_delta: float = 0.0  # completeness error of the integrated-gradients part (0 when exact)
    baseline_score: float = 0.0  # centred logit of the encoder part at the baseline


def centred_head(weight: np.ndarray) -> np.ndarray:
    """Head rows minus their mean over classes: (C, D)."""
    return (weight - weight.mean(0, keepdims=True)).astype(np.float32)


def explain_words(model: TextClassifier, texts: list[str]) -> list[WordExplanation]:
    """One `WordExplanation` per text for the class the model predicts."""
    probs = model.probabilities(texts)
    targets = probs.argmax(1) if len(texts) else np.zeros(0, dtype=np.int64)
    head = centred_head(model.weight)
    words = [split_words(t) for t in texts]
    out = [WordExplanation(t, w, np.zeros(len(w)), int(c), float(p[c]))
           for t, w, c, p in zip(texts, words, targets, probs, strict=True)]
    dim = model.encoder.dim if model.kind in ("embedding", "hybrid") else 0
    if model.kind in ("tfidf", "hybrid"):
        for item in out:
            item.weights += linear_word_contributions(model.tfidf, item.text, item.words,
                                                      head[item.target, dim:])
    if model.kind in ("embedding", "hybrid"):
        _add_integrated_gradients(model, out, head[:, :dim])
    return out


def _add_integrated_gradients(model: TextClassifier, items: list[WordExplanation], head: np.ndarray) -> None:
    from featureship.explain.integrated_gradients import token_attributions

    encoder = model.encoder
    w = torch.from_numpy(head).to(encoder.device)  # (C, H)

    def score(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)  # (B, H)
        return pooled @ w.T  # (B, C)

    # float32 throughout: bf16 rounding would swamp the small per-token gradients
    with torch.enable_grad():
        tokens = token_attributions(encoder.tokenizer, encoder.model, [i.text for i in items],
                                    [i.target for i in items], encoder.max_length, score, encoder.device)
    for item, tok in zip(items, tokens, strict=True):
        owners = word_of_offsets(item.words, tok.offsets)
        item.weights += merge(tok.weights, owners, len(item.words))
        item.ig_delta, item.baseline_score = tok.delta, tok.baseline_score


def explain_texts(model: TextClassifier, texts: list[str]) -> list[dict[str, Any]]:
    """`[{"label", "score", "method", "attributions": [{"token", "weight"}]}]`, one per text."""
    return [{"label": model.classes[e.target], "score": e.probability, "method": METHODS[model.kind],
             "attributions": as_attributions(e.words, e.weights)}
            for e in explain_words(model, texts)]
