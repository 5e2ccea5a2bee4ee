"""Interactions: validate the user's table, order each user's history, and split leave-one-out.

Decisions a user should know (they are also written as notes into the run's summary):

* Duplicated (user, item) rows keep only the latest one (by time, then file order). Items a
  user has seen are never recommended, so repeats carry no extra ranking signal, and keeping
  them would let a test item hide in the training history.
* Timestamps tie often (MovieLens stores seconds); ties are broken by file order, the later
  row counting as the later interaction, so the split is deterministic.
* Without a time column each user's order is a seeded random permutation, so the held-out
  items are a seeded random hold-out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from featureship.data.columns import require_columns
from featureship.data.readers import Table, read_table
from featureship.errors import DataError, format_rows
from featureship.tasks.recommendation.settings import RecommendationSettings


@dataclass
class Sequences:
    """Per-user item-index sequences in CSR layout (time order within a user)."""

    indptr: np.ndarray  # (n_users + 1,)
    items: np.ndarray  # (n_interactions,)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def csr(self, n_items: int) -> sparse.csr_matrix:
        """Binary user x item matrix."""
        data = np.ones(len(self.items), dtype=np.float32)
        return sparse.csr_matrix((data, self.items, self.indptr), shape=(len(self), n_items))

    @classmethod
    def from_lists(cls, lists: list[np.ndarray]) -> Sequences:
        lengths = np.array([len(s) for s in lists], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        items = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
        return cls(indptr, items)


@dataclass
class Interactions:
    users: list[str]  # user index -> the user's id as text
    items: list[str]  # item index -> the item's id as text
    sequences: Sequences  # every user's deduplicated history, time-ordered
    ratings: pd.DataFrame | None  # user, item (indices), rating; for the rating-prediction metric
    has_time: bool
    notes: list[str] = field(default_factory=list)

    @property
    def n_items(self) -> int:
        return len(self.items)


@dataclass
class Split:
    """Leave-one-out: the last interaction is test, the one before validation, the rest train."""

    train: Sequences
    valid_users: np.ndarray
    valid_items: np.ndarray
    test_users: np.ndarray
    test_items: np.ndarray
    test_history: Sequences  # train + the validation item: the input when predicting test


def id_strings(values: pd.Series) -> pd.Series:
    """Ids as text; integral floats (ids read next to blanks) lose their '.0'."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            return values.map(lambda v: str(int(v)) if pd.notna(v) else None)
    return values.map(lambda v: str(v).strip() if pd.notna(v) else None)


def load_interactions(table: Table, settings: RecommendationSettings) -> Interactions:
    """Validate the interactions table and build ordered, deduplicated per-user histories."""
    frame = table.frame
    if len(frame) == 0:
        raise DataError(f"{table.name} has a header but no rows; it needs one row per interaction.")
    require_columns(table, user_column=settings.user_column, item_column=settings.item_column,
                    time_column=settings.time_column, rating_column=settings.rating_column)
    notes = list(table.notes)
    users = id_strings(frame[settings.user_column])
    items = id_strings(frame[settings.item_column])
    for option, column, values in (
        ("--user-column", settings.user_column, users),
        ("--item-column", settings.item_column, items),
    ):
        if values.isna().all() or (values == "").all():
            raise DataError(
                f"The {option} '{column}' in {table.name} is empty in every row; "
                "point it at the column that holds the ids."
            )
    missing = (users.isna() | (users == "") | items.isna() | (items == "")).to_numpy()
    if missing.any():
        rows = (np.flatnonzero(missing) + 1).tolist()
        notes.append(
            f"{table.name}: skipped {len(rows)} row(s) without a user or item id (rows "
            f"{format_rows(rows)}); fill them in to use them."
        )
    work = pd.DataFrame({"user": users, "item": items, "row": np.arange(len(frame))})
    work["time"] = _parse_times(table, settings.time_column) if settings.time_column else 0.0
    if settings.rating_column:
        work["rating"] = _parse_ratings(table, settings.rating_column)
    work = work[~missing]
    if len(work) == 0:
        raise DataError(f"{table.name}: no row has both a user and an item id.")

    # Deterministic order: time, then file order (see the module docstring).
    work = work.sort_values(["time", "row"], kind="stable")
    duplicated = work.duplicated(["user", "item"], keep="last")
    if duplicated.any():
        notes.append(
            f"{table.name}: {int(duplicated.sum())} duplicated (user, item) row(s) "
            f"({format_rows(sorted((work.loc[duplicated, 'row'] + 1).tolist()))}); kept the "
            "latest of each, since seen items are never recommended."
        )
        work = work[~duplicated]
    if settings.time_column:
        ties = _count_last_ties(work)
        if ties:
            notes.append(
                f"{ties} user(s) have tied timestamps among their last two interactions; ties "
                "are broken by file order (the later row counts as the later interaction)."
            )

    user_codes, user_index = pd.factorize(work["user"], sort=True)
    item_codes, item_index = pd.factorize(work["item"], sort=True)
    if not settings.time_column:
        # no time: a seeded random order per user makes the hold-out a random one
        rng = np.random.default_rng(settings.seed)
        work = work.assign(time=rng.random(len(work)))
    work = work.assign(u=user_codes, i=item_codes)
    work = work.sort_values(["u", "time", "row"], kind="stable")
    counts = np.bincount(work["u"].to_numpy(), minlength=len(user_index))
    sequences = Sequences(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                          work["i"].to_numpy().astype(np.int64))
    ratings = None
    if settings.rating_column:
        ratings = pd.DataFrame({"user": work["u"].to_numpy(), "item": work["i"].to_numpy(),
                                "rating": work["rating"].to_numpy(dtype=np.float64)})
    return Interactions([str(u) for u in user_index], [str(i) for i in item_index], sequences,
                        ratings, bool(settings.time_column), notes)


def _parse_times(table: Table, column: str) -> pd.Series:
    raw = table.frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        numeric = pd.to_numeric(raw, errors="coerce")
        if numeric.notna().sum() == raw.notna().sum():
            values = numeric.astype("float64")
        else:
            parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
            values = pd.Series(np.nan, index=raw.index)
            ok = parsed.notna()
            values[ok] = parsed[ok].map(lambda t: t.timestamp())
    bad = values.isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        examples = ", ".join(repr(v) for v in raw[bad].head(3).tolist())
        raise DataError(
            f"The --time-column '{column}' in {table.name} has {len(rows)} value(s) that are not "
            f"timestamps (rows {format_rows(rows)}; e.g. {examples}). Use numbers (epoch seconds) "
            "or dates like 2024-05-01 12:30:00, or leave out --time-column."
        )
    return values


def _parse_ratings(table: Table, column: str) -> pd.Series:
    raw = table.frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1).tolist()
        raise DataError(
            f"The --rating-column '{column}' in {table.name} has {len(rows)} value(s) that are "
            f"not numbers (rows {format_rows(rows)}). Fix them or leave out --rating-column."
        )
    return values.astype("float64")


def _count_last_ties(work: pd.DataFrame) -> int:
    last_two = work.groupby("user", sort=False).tail(2)
    per_user = last_two.groupby("user")["time"].agg(["count", "nunique"])
    return int(((per_user["count"] == 2) & (per_user["nunique"] == 1)).sum())


def leave_one_out(sequences: Sequences) -> Split:
    """Split each user's ordered history: last -> test, the one before -> validation.

    Users with fewer than 3 interactions stay whole in train (they are not evaluated).
    """
    train, test_hist = [], []
    valid_users, valid_items, test_users, test_items = [], [], [], []
    for user in range(len(sequences)):
        seq = sequences[user]
        if len(seq) < 3:
            train.append(seq)
            test_hist.append(seq)
            continue
        train.append(seq[:-2])
        test_hist.append(seq[:-1])
        valid_users.append(user)
        valid_items.append(seq[-2])
        test_users.append(user)
        test_items.append(seq[-1])
    as_array = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
    return Split(Sequences.from_lists(train), as_array(valid_users), as_array(valid_items),
                 as_array(test_users), as_array(test_items), Sequences.from_lists(test_hist))


def load_titles(settings: RecommendationSettings) -> dict[str, str]:
    """Item id -> title from the optional --items file."""
    if not settings.items:
        return {}
    table = read_table(settings.items)
    id_column = settings.item_id_column or settings.item_column
    if not settings.item_title_column:
        raise DataError("--items needs --item-title-column (the column with the item names).")
    require_columns(table, item_id_column=id_column, item_title_column=settings.item_title_column)
    ids = id_strings(table.frame[id_column])
    titles = table.frame[settings.item_title_column].astype("string")
    keep = ids.notna().to_numpy() & titles.notna().to_numpy()
    return dict(zip(ids[keep].tolist(), titles[keep].tolist(), strict=True))
