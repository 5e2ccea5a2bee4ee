"""Read the knowledge base and the labelled questions, refusing what cannot be used.

Checked at the boundary: missing columns, empty or duplicate answer ids, empty answers (all
refused, listing rows); questions naming unknown answer ids (refused, listing the ids);
blank questions (skipped and counted). Answers with no example question are fine: they are
found by their own text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from featureship.data.columns import blank_rows, describe_rows, require_columns, require_rows
from featureship.data.readers import Table, read_table
from featureship.errors import DataError, SettingsError
from featureship.tasks.text_classification.data import label_strings


@dataclass
class KnowledgeBase:
    ids: list[str]
    answers: list[str]
    titles: list[str | None]

    def document(self, i: int) -> str:
        """The text an answer is found by: its title (if any) and its reply."""
        title = self.titles[i]
        if not title:
            return self.answers[i]
        return f"{title}{'' if title[-1] in '.?!:' else '.'} {self.answers[i]}"

    def records(self) -> list[dict[str, str | None]]:
        return [{"id": i, "title": t, "answer": a}
                for i, t, a in zip(self.ids, self.titles, self.answers, strict=True)]

    @classmethod
    def from_records(cls, records: list[dict[str, str | None]]) -> KnowledgeBase:
        return cls([str(r["id"]) for r in records], [str(r["answer"]) for r in records],
                   [r.get("title") for r in records])


@dataclass
class Questions:
    texts: list[str]
    answer_ids: list[str]
    rows: np.ndarray  # 0-based rows of the user's table that were kept
    notes: list[str] = field(default_factory=list)


def read_knowledge_base(table: Table, id_column: str, answer_column: str,
                        title_column: str | None) -> KnowledgeBase:
    """The knowledge base as given; every problem refused with the rows that have it."""
    require_columns(table, id_column=id_column, answer_column=answer_column,
                    title_column=title_column)
    require_rows(table)
    frame = table.frame
    ids = label_strings(frame[id_column])
    empty_ids = blank_rows(ids)
    if empty_ids:
        raise DataError(f"{table.name}: {len(empty_ids)} row(s) have no '{id_column}' (answer id): "
                        f"{describe_rows(empty_ids)}. Give every answer an id.")
    counts = Counter(ids)
    duplicates = sorted(k for k, v in counts.items() if v > 1)
    if duplicates:
        rows = [i + 1 for i, v in enumerate(ids) if v in set(duplicates)]
        raise DataError(f"{table.name}: answer ids in '{id_column}' must be unique; "
                        f"{len(duplicates)} appear more than once: {', '.join(duplicates[:10])} "
                        f"({describe_rows(rows)}). Merge or rename those answers.")
    answers = frame[answer_column]
    empty = blank_rows(answers)
    if empty:
        raise DataError(f"{table.name}: {len(empty)} answer(s) in '{answer_column}' are empty: "
                        f"{describe_rows(empty)}. Write the reply, or remove those rows.")
    titles: list[str | None] = [None] * len(frame)
    if title_column is not None:
        titles = [None if pd.isna(t) or not str(t).strip() else str(t).strip()
                  for t in frame[title_column]]
    return KnowledgeBase([str(i) for i in ids], [str(a).strip() for a in answers], titles)


def read_questions(source: str | Table, question_column: str | None, answer_id_column: str | None,
                   known_ids: set[str] | None, trained: bool = False) -> Questions:
    """Labelled questions; ids not in the knowledge base are refused, all of them listed.

    `known_ids=None` skips that check (evaluation reports unknown ids instead of refusing).
    """
    table = read_table(source) if isinstance(source, str) else source
    if question_column is None or answer_id_column is None:
        raise SettingsError("--questions needs --question-column and --answer-id-column "
                            "(the question text and the id of the answer it should get).")
    require_columns(table, trained=trained, question_column=question_column,
                    answer_id_column=answer_id_column)
    require_rows(table)
    frame = table.frame
    notes = list(table.notes)
    texts = frame[question_column]
    labels = label_strings(frame[answer_id_column])
    skip = np.zeros(len(frame), dtype=bool)
    for what, rows in (("question", blank_rows(texts)), ("answer id", blank_rows(labels))):
        rows = [r for r in rows if not skip[r - 1]]
        if rows:
            notes.append(f"{table.name}: skipped {len(rows)} row(s) with no {what}: "
                         f"{describe_rows(rows)}.")
            skip[np.array(rows) - 1] = True
    kept = np.flatnonzero(~skip)
    answer_ids = [str(labels.iloc[i]) for i in kept]
    if known_ids is not None:
        unknown = sorted({a for a in answer_ids if a not in known_ids})
        if unknown:
            rows = [int(kept[j]) + 1 for j, a in enumerate(answer_ids) if a not in known_ids]
            raise DataError(
                f"{table.name}: {len(unknown)} answer id(s) in '{answer_id_column}' are not in the "
                f"knowledge base: {', '.join(unknown[:20])}"
                + (f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else "")
                + f" ({describe_rows(rows)}). Add those answers to the knowledge base or fix "
                "the ids.")
    if len(kept) == 0:
        raise DataError(f"{table.name}: no row has both a question and an answer id "
                        f"(columns '{question_column}', '{answer_id_column}').")
    return Questions([str(texts.iloc[i]) for i in kept], answer_ids, kept, notes)


def read_unlabelled(source: str | Table, column: str | None, labelled: set[str],
                    limit: int, seed: int) -> tuple[list[str], list[str]]:
    """Unlabelled customer messages (for self-training) and notes on what was left out: blank
    rows, exact copies of labelled questions (their pseudo-label would vouch for itself on
    validation), repeats, and a seeded sample beyond `limit`."""
    table = read_table(source) if isinstance(source, str) else source
    if column is None:
        raise SettingsError("--unlabelled needs --unlabelled-column (the column with the messages).")
    require_columns(table, unlabelled_column=column)
    require_rows(table)
    notes = list(table.notes)
    values = table.frame[column]
    blank = set(blank_rows(values))
    texts, seen, copies = [], set(), 0
    for row, value in enumerate(values, start=1):
        if row in blank:
            continue
        text = str(value).strip()
        if text in labelled:
            copies += 1
        elif text not in seen:
            seen.add(text)
            texts.append(text)
    if blank:
        notes.append(f"{table.name}: skipped {len(blank)} blank message(s): "
                     f"{describe_rows(sorted(blank))}.")
    if copies:
        notes.append(f"{table.name}: left out {copies} message(s) identical to a labelled question.")
    if len(texts) > limit:
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.choice(len(texts), size=limit, replace=False))]
        notes.append(f"{table.name}: used a seeded sample of {limit:,} unlabelled messages "
                     "(--max-unlabelled).")
    return texts, notes


def split_questions(questions: Questions, fraction: float, seed: int) -> tuple[Questions, Questions]:
    """Hold out `fraction` of each answer's questions (at least one where it has two or more)."""
    rng = np.random.default_rng(seed)
    by_answer: dict[str, list[int]] = {}
    for j, answer in enumerate(questions.answer_ids):
        by_answer.setdefault(answer, []).append(j)
    valid: list[int] = []
    for members in by_answer.values():
        if len(members) < 2:
            continue  # the only example of an answer is worth more for training
        take = max(1, int(round(fraction * len(members))))
        valid += rng.choice(members, size=take, replace=False).tolist()
    held = set(valid)
    train = [j for j in range(len(questions.texts)) if j not in held]
    return _subset(questions, train), _subset(questions, sorted(valid))


def _subset(questions: Questions, index: list[int]) -> Questions:
    return Questions([questions.texts[j] for j in index], [questions.answer_ids[j] for j in index],
                     questions.rows[index] if index else np.zeros(0, dtype=np.int64))
