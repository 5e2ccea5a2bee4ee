"""Self-training: label unlabelled customer messages with the retriever, add them as examples.

A team with ten questions per answer usually has thousands of unlabelled messages in its
logs. Labelling each once with the retriever and keeping them all as examples covers far
more of how customers write than the labelled few: on banking77 (10 per intent, seed-1
split, 7,693 messages whose pseudo-labels were 84% right) held-out top-1 went 0.842 -> 0.868.
Keeping only the confident 70/50/30% did worse (0.860/0.844/0.838), and so did relabelling
with the grown index (0.856-0.861 over three more rounds: its mistakes reinforce themselves),
so one round, all messages. Training decides on validation whether it helps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from featureship.tasks.answer_retrieval.retriever import Examples, Retriever


@dataclass
class Unlabelled:
    texts: list[str]
    embeddings: np.ndarray  # (U, D), by the encoder of the retriever that labels them


def pseudo_label(retriever: Retriever, unlabelled: Unlabelled) -> np.ndarray:
    """(U,) the answer index the retriever ranks first for each message."""
    return retriever.fused(unlabelled.texts, unlabelled.embeddings).argmax(1)


def with_pseudo_labels(retriever: Retriever, unlabelled: Unlabelled) -> Retriever:
    """A new retriever: `retriever`'s answers and examples plus the messages, labelled by it."""
    labels = pseudo_label(retriever, unlabelled)
    examples = Examples([*retriever.examples.texts, *unlabelled.texts],
                        np.concatenate([retriever.examples.answers, labels]))
    embeddings = np.vstack([retriever.example_embeddings, unlabelled.embeddings])
    return Retriever(retriever.kb, examples, retriever.encoder, retriever.answer_embeddings,
                     embeddings, retriever.fusion_weight, retriever.calibration,
                     retriever.batch_size, retriever.prototype_weight)
