from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from featureship.data.readers import Table
from featureship.errors import DataError
from featureship.tasks.recommendation.data import leave_one_out, load_interactions
from featureship.tasks.recommendation.settings import RecommendationSettings


def table(frame: pd.DataFrame) -> Table:
    return Table(frame, Path("clicks.csv"))


def settings(**extra) -> RecommendationSettings:
    return RecommendationSettings(user_column="user", item_column="item", **extra)


def test_missing_column_names_the_option_and_lists_columns():
    with pytest.raises(DataError, match=r"--item-column 'movie' is not in clicks.csv; its columns are: user, item"):
        load_interactions(table(pd.DataFrame({"user": [1], "item": [2]})),
                          RecommendationSettings(user_column="user", item_column="movie"))


def test_no_rows():
    with pytest.raises(DataError, match="no rows"):
        load_interactions(table(pd.DataFrame({"user": [], "item": []})), settings())


def test_empty_user_column():
    frame = pd.DataFrame({"user": [None, None], "item": [1, 2]})
    with pytest.raises(DataError, match="--user-column 'user' in clicks.csv is empty"):
        load_interactions(table(frame), settings())


def test_bad_timestamps_name_the_rows():
    frame = pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 3], "t": ["2024-01-01", "soon", "never"]})
    with pytest.raises(DataError, match=r"2 value\(s\) that are not timestamps \(rows 2, 3"):
        load_interactions(table(frame), settings(time_column="t"))


def test_rows_without_ids_are_counted_and_skipped():
    frame = pd.DataFrame({"user": [1, None, 2], "item": [1, 2, 3]})
    data = load_interactions(table(frame), settings())
    assert len(data.sequences.items) == 2
    assert any("skipped 1 row(s)" in n and "rows 2" in n for n in data.notes)


def test_duplicates_keep_the_latest_and_are_reported():
    frame = pd.DataFrame({"user": [1, 1, 1, 1], "item": ["x", "y", "x", "z"], "t": [1, 2, 3, 4]})
    data = load_interactions(table(frame), settings(time_column="t"))
    order = [data.items[i] for i in data.sequences[0]]
    assert order == ["y", "x", "z"]  # the repeat of x moved to its latest time
    assert any("1 duplicated (user, item)" in n for n in data.notes)


def test_tied_timestamps_break_by_file_order():
    frame = pd.DataFrame({"user": [1, 1, 1, 1], "item": ["a", "c", "b", "d"], "t": [5, 9, 9, 9]})
    data = load_interactions(table(frame), settings(time_column="t"))
    assert [data.items[i] for i in data.sequences[0]] == ["a", "c", "b", "d"]
    assert any("tied timestamps" in n for n in data.notes)


def test_dates_parse_and_integral_float_ids_lose_their_suffix():
    frame = pd.DataFrame({"user": [1.0, 1.0, np.nan], "item": [7, 8, 9],
                          "t": ["2024-01-02", "2024-01-01 10:00", "2024-01-03"]})
    data = load_interactions(table(frame), settings(time_column="t"))
    assert data.users == ["1"]
    assert [data.items[i] for i in data.sequences[0]] == ["8", "7"]


interactions = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 12), st.integers(0, 5)), min_size=1, max_size=80
)


@hsettings(max_examples=60, deadline=None)
@given(rows=interactions, timed=st.booleans(), seed=st.integers(0, 3))
def test_leave_one_out_has_no_leakage(rows, timed, seed):
    frame = pd.DataFrame(rows, columns=["user", "item", "t"])
    data = load_interactions(table(frame), settings(time_column="t" if timed else None, seed=seed))
    split = leave_one_out(data.sequences)
    deduped = frame.drop_duplicates(["user", "item"])
    assert len(data.sequences.items) == len(deduped)
    for j, (u, v, t) in enumerate(zip(split.valid_users, split.valid_items, split.test_items, strict=False)):
        assert u == split.test_users[j]
        train = set(split.train[u].tolist())
        assert v not in train and t not in train and v != t  # nothing held out is trained on
        assert list(split.test_history[u]) == list(split.train[u]) + [v]
        assert len(train) + 2 == len(data.sequences[u])
        if timed:  # held-out items are the latest interactions
            user_rows = frame[frame.user.astype(str) == data.users[u]]
            latest = user_rows.groupby("item")["t"].max()
            latest.index = latest.index.astype(str)
            train_times = [latest[data.items[i]] for i in train]
            assert max(train_times) <= latest[data.items[v]] <= latest[data.items[t]]
    evaluated = set(split.valid_users.tolist())
    for u in range(len(data.users)):
        assert (len(data.sequences[u]) >= 3) == (u in evaluated)
