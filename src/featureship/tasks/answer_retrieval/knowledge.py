"""Change a retriever's knowledge base without retraining: embed only new or changed answers."""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.errors import DataError, SettingsError
from featureship.tasks.answer_retrieval.data import KnowledgeBase
from featureship.tasks.answer_retrieval.lexical import Lexical
from featureship.tasks.answer_retrieval.retriever import Examples, Retriever

HOW = ("add", "update", "replace")


def merge(retriever: Retriever, new: KnowledgeBase, how: str) -> dict[str, Any]:
    """Apply `new` to the retriever in place; returns counts of what changed.

    add: every id must be new. update: ids may be new or existing (changed ones re-embedded).
    replace: `new` is the whole knowledge base; answers it lacks are removed with their examples.
    """
    if how not in HOW:
        raise SettingsError(f"Unknown knowledge-base change '{how}'; use one of: {', '.join(HOW)}.")
    old = retriever.kb
    position = {a: i for i, a in enumerate(old.ids)}
    if how == "add":
        existing = [a for a in new.ids if a in position]
        if existing:
            raise DataError(f"{len(existing)} answer id(s) are already in the knowledge base: "
                            f"{', '.join(existing[:20])}. Use `featureship kb update` to change "
                            "existing answers.")
    incoming = {a: i for i, a in enumerate(new.ids)}
    ids: list[str] = []
    answers: list[str] = []
    titles: list[str | None] = []
    source: list[int | None] = []  # old index whose embedding is kept, or None to embed again
    added = updated = 0
    for i, answer_id in enumerate(old.ids):
        if how == "replace" and answer_id not in incoming:
            continue  # removed
        j = incoming.get(answer_id)
        if j is None:
            ids.append(answer_id), answers.append(old.answers[i]), titles.append(old.titles[i])
            source.append(i)
            continue
        changed = new.document(j) != old.document(i)
        ids.append(answer_id), answers.append(new.answers[j]), titles.append(new.titles[j])
        source.append(None if changed else i)
        updated += int(changed)
    for j, answer_id in enumerate(new.ids):
        if answer_id not in position:
            ids.append(answer_id), answers.append(new.answers[j]), titles.append(new.titles[j])
            source.append(None)
            added += 1
    removed = len(old.ids) - (len(ids) - added)
    if not ids:
        raise DataError("The new knowledge base would have no answers left.")
    kb = KnowledgeBase(ids, answers, titles)
    to_embed = [k for k, s in enumerate(source) if s is None]
    if retriever.encoder is not None:
        embeddings = np.zeros((len(ids), retriever.answer_embeddings.shape[1]), np.float32)
        kept = [k for k, s in enumerate(source) if s is not None]
        embeddings[kept] = retriever.answer_embeddings[[source[k] for k in kept]]
        if to_embed:
            embeddings[to_embed] = retriever.embed([kb.document(k) for k in to_embed])
        retriever.answer_embeddings = embeddings
    # examples follow their answer to its new position; those of removed answers are dropped
    mapping = {a: k for k, a in enumerate(ids)}
    keep = [q for q, a in enumerate(retriever.examples.answers) if old.ids[int(a)] in mapping]
    kept_examples = Examples([retriever.examples.texts[q] for q in keep],
                             np.array([mapping[old.ids[int(retriever.examples.answers[q])]]
                                       for q in keep], dtype=np.int64))
    dropped = len(retriever.examples.texts) - len(keep)
    example_embeddings = (retriever.example_embeddings[keep]
                          if retriever.example_embeddings is not None else None)
    retriever.kb = kb
    retriever.set_examples(kept_examples, example_embeddings)
    retriever.lexical = Lexical(retriever._documents())
    return {"how": how, "added": added, "updated": updated, "removed": removed,
            "unchanged": len(ids) - added - updated, "re_embedded": len(to_embed)
            if retriever.encoder is not None else 0, "examples_dropped": dropped,
            "answers": len(ids)}


def add_examples(retriever: Retriever, texts: list[str], answer_ids: list[str]) -> int:
    """Add labelled questions to the index (embedded with the current encoder; no training)."""
    if not texts:
        return 0
    index = {a: i for i, a in enumerate(retriever.kb.ids)}
    answers = np.concatenate([retriever.examples.answers,
                              np.array([index[a] for a in answer_ids], dtype=np.int64)])
    embeddings = None
    if retriever.encoder is not None:
        embeddings = np.vstack([retriever.example_embeddings, retriever.embed(texts)])
    retriever.set_examples(Examples([*retriever.examples.texts, *texts], answers), embeddings)
    retriever.lexical = Lexical(retriever._documents())
    return len(texts)
