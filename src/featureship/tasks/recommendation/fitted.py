"""The trained recommender: recommend / similar / evaluate, and its bundle files.

Bundle files (no pickle anywhere; ids and settings are JSON):
    weights.safetensors   model.* (the family's tensors), history.* (every user's seen items,
                          time-ordered, CSR), fallback.counts (popularity for cold start)
    ids.json              user and item ids by index;  titles.json  item id -> title
    model.json            family name and its config;  metrics.json, report.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from safetensors.numpy import load_file, save_file

from featureship.artifacts import write_json
from featureship.data.columns import require_columns
from featureship.endpoints import Endpoint, Limits, json_type
from featureship.errors import DataError, FeatureshipError, SettingsError
from featureship.evaluation.ranking import (
    DEFAULT_KS,
    coverage,
    metrics_from_ranks,
    target_ranks,
    top_k,
)
from featureship.evaluation.tables import ResultTable
from featureship.manifest import Manifest
from featureship.tasks.base import DataSource, FittedModel, read_source
from featureship.tasks.recommendation.data import Sequences, id_strings
from featureship.tasks.recommendation.models import Recommender, restore
from featureship.tasks.recommendation.report import report_sections
from featureship.tasks.recommendation.schemas import (
    RecommendExplanationResponse,
    RecommendRequest,
    RecommendResponse,
    SimilarRequest,
    SimilarResponse,
)
from featureship.tasks.recommendation.settings import RecommendationSettings

if TYPE_CHECKING:
    from featureship.evaluation.report import Section

_REPORT_USERS = 2000  # enough for a stable popularity-bias picture, cheap at save time


class UnknownItemError(FeatureshipError):
    """An item id the model has never seen (the server answers 404)."""

    status_code = 404


class RecommendationModel(FittedModel):
    """A trained recommender over the ids it was fitted on; cold users get popular items."""

    task: ClassVar[str] = "recommendation"
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"users", "k"})
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "ndcg@10"), ("test", "ndcg@10"), ("test", "hr@10"), ("test", "mrr@10"),
        ("test", "coverage@10"))

    def __init__(self, settings: RecommendationSettings, family: str, recommender: Recommender,
                 users: list[str], items: list[str], history: Sequences, fallback: np.ndarray,
                 titles: dict[str, str], full_metrics: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.family = family
        self.recommender = recommender
        self.users, self.items = users, items
        self.user_index = {u: j for j, u in enumerate(users)}
        self.item_index = {i: j for j, i in enumerate(items)}
        self.history = history
        self.fallback = fallback  # popularity counts over all interactions (cold start)
        self.titles = titles
        self.full_metrics = full_metrics or {}  # every metric at every K, for metrics.json

    # -- serving ---------------------------------------------------------------------------
    def recommend(self, user: Any = None, history: list[Any] | None = None, k: int = 10,
                  include_seen: bool = False) -> dict[str, Any]:
        """Top-k items for a known user, or for an anonymous session's item history.

        >>> model.recommend(user=42, k=3)["items"][0]
        {'item': '50', 'score': 7.1, 'title': 'Star Wars (1977)'}
        """
        return self._answer(user, history, k, include_seen)[0]

    def _answer(self, user: Any, history: list[Any] | None, k: int, include_seen: bool
                ) -> tuple[dict[str, Any], np.ndarray]:
        """The recommend answer and the history (item indices) it was scored from."""
        if (user is None) == (history is None):
            raise SettingsError("Give either a user id or a history of item ids, not both or neither.")
        k = _check_k(k)
        ignored: list[str] = []
        if user is not None:
            index = self.user_index.get(str(user).strip())
            if index is None:
                return self._fallback_answer(k, [], ignored), np.zeros(0, np.int64)
            seen = self.history[index]
            scores = self.recommender.score(Sequences.from_lists([seen]))[0]
        else:
            if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
                raise SettingsError("'history' must be a list of item ids, e.g. [\"50\", \"172\"].")
            indices = []
            for item in history:
                index = self.item_index.get(str(item).strip())
                if index is None:
                    ignored.append(str(item))
                else:
                    indices.append(index)
            if not indices:
                return self._fallback_answer(k, [], ignored), np.zeros(0, np.int64)
            # a repeated item counts at its latest position, as training keeps the latest one
            latest = list(dict.fromkeys(reversed(indices)))[::-1]
            seen = np.array(latest, dtype=np.int64)
            scores = self.recommender.score(Sequences.from_lists([seen]))[0]
        return {"items": self._ranked(scores, seen, k, include_seen), "fallback": False,
                "ignored_items": ignored}, seen

    def similar(self, item: Any, k: int = 10) -> dict[str, Any]:
        """Items most like `item` ("more like this"), the item itself left out."""
        k = _check_k(k)
        index = self.item_index.get(str(item).strip())
        if index is None:
            raise UnknownItemError(
                f"Item '{item}' is not in this model's catalogue ({len(self.items):,} items); "
                "it had no interactions in the training data."
            )
        scores = self.recommender.similar(index).astype(np.float64)
        return {"items": self._ranked(scores, np.array([index]), k, include_seen=False)}

    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """One recommendation list per user id (unknown users get the flagged fallback)."""
        self._check_user_ids(rows)
        return [self.recommend(user=row) for row in rows]

    @staticmethod
    def _check_user_ids(rows: list[Any]) -> None:
        bad = [i for i, row in enumerate(rows) if isinstance(row, bool) or not isinstance(row, (int, str))]
        if bad:
            raise SettingsError(
                f"Each input must be a user id (an integer or a string); input {bad[0]} is "
                f"{json_type(rows[bad[0]])}.")

    def predict_cli(self, users: str | None = None, k: int | None = None,
                    **_: Any) -> pd.DataFrame | list[dict[str, Any]]:
        if users is None:
            raise SettingsError("Give --users all (or comma-separated user ids) to recommend for.")
        return self.recommend_table(users, k=k or 10)

    def recommend_table(self, users: str, k: int = 10) -> pd.DataFrame:
        """Columns user, rank, item, score for 'all' users or a comma-separated list of ids."""
        k = _check_k(k)
        wanted = self.users if users.strip() == "all" else [u.strip() for u in users.split(",") if u.strip()]
        if not wanted:
            raise SettingsError("--users needs 'all' or comma-separated user ids.")
        rows: list[tuple[str, int, str, float]] = []
        known = [u for u in wanted if u in self.user_index]
        for start in range(0, len(known), 1024):
            chunk = known[start : start + 1024]
            indices = np.array([self.user_index[u] for u in chunk], dtype=np.int64)
            histories = Sequences.from_lists([self.history[j] for j in indices])
            scores = self._mask(self.recommender.score(histories), histories)
            best = top_k(scores, k)
            for user, row, picks in zip(chunk, scores, best, strict=True):
                picks = picks[np.isfinite(row[picks])]
                rows += [(user, r + 1, self.items[i], float(row[i])) for r, i in enumerate(picks)]
        for user in (u for u in wanted if u not in self.user_index):  # cold start
            for r, entry in enumerate(self._fallback_answer(k, [], [])["items"]):
                rows.append((user, r + 1, entry["item"], entry["score"]))
        return pd.DataFrame(rows, columns=["user", "rank", "item", "score"])

    def explain_recommendation(self, user: Any = None, history: list[Any] | None = None, k: int = 10,
                               include_seen: bool = False) -> dict[str, Any]:
        """`recommend`'s answer with, on every item, the history items that contributed most.

        >>> model.explain_recommendation(user=42, k=1)["items"][0]["because"][0]
        {'item': '172', 'weight': 0.41, 'title': 'Empire Strikes Back, The (1980)'}
        """
        from featureship.tasks.recommendation.explanations import explain_answer

        answer, seen = self._answer(user, history, k, include_seen)
        return explain_answer(answer, self.family, self.recommender, seen, self.item_index,
                              self.items, self.titles)

    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """One explained recommendation list per user id (the inputs of `predict`)."""
        self._check_user_ids(rows)
        return [self.explain_recommendation(user=row) for row in rows]

    def explain_cli(self, users: str | None = None, k: int | None = None, **_: Any) -> list[dict[str, Any]]:
        if users is None or not users.strip() or users.strip() == "all":
            raise SettingsError("Give --users with comma-separated user ids to explain (not 'all': "
                                "one explanation per user is meant to be read).")
        wanted = [u.strip() for u in users.split(",") if u.strip()]
        return [{"user": u, **self.explain_recommendation(user=u, k=k or 10)} for u in wanted]

    @classmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        # ids of this bundle's own data, so the documented examples work against it
        examples = manifest.input_schema.get("examples") or {"user": "196", "item": "50"}
        return [
            Endpoint("recommend", RecommendRequest, RecommendResponse, handler="recommend",
                     summary="Top-k items for a known `user`, or for an anonymous visitor's "
                     "`history`.", example={"user": examples["user"], "k": 10},
                     explained_by="explain"),
            Endpoint("similar", SimilarRequest, SimilarResponse, handler="similar",
                     summary='The k items most similar to `item` ("you may also like").',
                     example={"item": examples["item"], "k": 10}),
            Endpoint("explain", RecommendRequest, RecommendExplanationResponse,
                     handler="explain_recommendation",
                     summary="The same body as /recommend; every item comes with the history "
                     "items that contributed most to it.", example={"user": examples["user"], "k": 5}),
        ]

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        rows = [[f"@{k}", metrics.get(f"hr@{k}"), metrics.get(f"ndcg@{k}"), metrics.get(f"mrr@{k}")]
                for k in DEFAULT_KS if f"hr@{k}" in metrics]
        return [ResultTable("ranking metrics by list length", ["K", "HR", "NDCG", "MRR"], rows)]

    def report_sections(self) -> list[Section]:
        users = self.users[:_REPORT_USERS]
        table = self.recommend_table(",".join(users), k=10) if users else None
        picked = (np.array([self.item_index[i] for i in table["item"]], dtype=np.int64)
                  if table is not None and len(table) else np.zeros(0, np.int64))
        return report_sections(self.full_metrics, bool(self.describe().training.get("refit")),
                               picked, self.fallback, len(users))

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Ranking metrics for held-out interactions (same columns as training).

        Each row is one target: the user's stored history is the input, every item not in it
        is a candidate. Unknown users get the popularity fallback (and count as not served);
        unknown items and items already in the history cannot be ranked and are left out.
        """
        data = read_source(data)
        frame = data.frame
        require_columns(data, trained=True, user_column=self.settings.user_column,
                        item_column=self.settings.item_column)
        users = id_strings(frame[self.settings.user_column]).tolist()
        items = id_strings(frame[self.settings.item_column]).tolist()
        notes: list[str] = []
        user_rows, targets, unknown_items, already_seen = [], [], 0, 0
        for user, item in zip(users, items, strict=True):
            target = self.item_index.get(item) if item is not None else None
            if target is None:
                unknown_items += 1
                continue
            u = self.user_index.get(user, -1) if user is not None else -1
            if u >= 0 and bool((self.history[u] == target).any()):
                already_seen += 1
                continue
            user_rows.append(u)
            targets.append(target)
        if unknown_items:
            notes.append(f"{unknown_items} row(s) name items the model never saw; they cannot be "
                         "ranked and were left out.")
        if already_seen:
            notes.append(f"{already_seen} row(s) are interactions the model was trained on (the item "
                         "is in the user's history); they were left out — evaluate on held-out data.")
        if not targets:
            raise DataError(f"{data.name}: no row can be evaluated (see: {' '.join(notes)}). "
                            "Give interactions of known items that the model has not been trained on.")
        user_arr, target_arr = np.array(user_rows), np.array(targets)
        ranks, tops = [], []
        for start in range(0, len(targets), 1024):  # chunks: never a rows x items matrix at once
            users_chunk = user_arr[start : start + 1024]
            scores = np.empty((len(users_chunk), len(self.items)), dtype=np.float64)
            known = users_chunk >= 0
            if known.any():
                histories = Sequences.from_lists([self.history[u] for u in users_chunk[known]])
                scores[known] = self._mask(self.recommender.score(histories), histories)
            scores[~known] = self.fallback[None, :]
            ranks.append(target_ranks(scores, target_arr[start : start + 1024]))
            tops.append(top_k(scores, 10))
        metrics: dict[str, Any] = metrics_from_ranks(np.concatenate(ranks), DEFAULT_KS)
        metrics["coverage@10"] = coverage(np.concatenate(tops), len(self.items))
        metrics["known_users"] = float((user_arr >= 0).mean())  # the rest got the fallback
        metrics["evaluated"] = float(len(targets))
        metrics["overlap_rows"] = already_seen  # rows the model was trained on (left out)
        metrics["notes"] = notes
        return metrics

    # -- helpers ---------------------------------------------------------------------------
    def _mask(self, scores: np.ndarray, histories: Sequences) -> np.ndarray:
        scores = scores.astype(np.float64)
        for j in range(len(histories)):
            scores[j, histories[j]] = -np.inf
        return scores

    def _ranked(self, scores: np.ndarray, seen: np.ndarray, k: int, include_seen: bool) -> list[dict[str, Any]]:
        scores = np.asarray(scores, dtype=np.float64).copy()
        if not include_seen:
            scores[seen] = -np.inf
        picks = top_k(scores[None, :], k)[0]
        return [self._entry(i, scores[i]) for i in picks if np.isfinite(scores[i])]

    def _entry(self, index: int, score: float) -> dict[str, Any]:
        item = self.items[index]
        entry: dict[str, Any] = {"item": item, "score": round(float(score), 6)}
        if item in self.titles:
            entry["title"] = self.titles[item]
        return entry

    def _fallback_answer(self, k: int, seen: list[int], ignored: list[str]) -> dict[str, Any]:
        items = self._ranked(self.fallback / max(float(self.fallback.sum()), 1.0),
                             np.array(seen, dtype=np.int64), k, include_seen=False)
        return {"items": items, "fallback": True, "ignored_items": ignored}

    # -- bundle ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        tensors = {f"model.{k}": np.ascontiguousarray(v) for k, v in self.recommender.tensors().items()}
        tensors["history.indptr"] = np.ascontiguousarray(self.history.indptr)
        tensors["history.items"] = np.ascontiguousarray(self.history.items)
        tensors["fallback.counts"] = np.ascontiguousarray(self.fallback.astype(np.float32))
        save_file(tensors, str(directory / "weights.safetensors"))
        write_json(directory / "ids.json", {"users": self.users, "items": self.items})
        write_json(directory / "titles.json", self.titles)
        write_json(directory / "model.json", {"family": self.family,
                                              "config": self.recommender.config()})
        write_json(directory / "metrics.json", {"metrics": self.full_metrics})

    @classmethod
    def load(cls, directory: Path, manifest: Manifest) -> RecommendationModel:
        tensors = load_file(str(directory / "weights.safetensors"))
        ids = json.loads((directory / "ids.json").read_text())
        titles = json.loads((directory / "titles.json").read_text())
        spec = json.loads((directory / "model.json").read_text())
        full = json.loads((directory / "metrics.json").read_text()).get("metrics", {})
        model_tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        recommender = restore(spec["family"], model_tensors, spec["config"])
        history = Sequences(tensors["history.indptr"], tensors["history.items"])
        settings = RecommendationSettings(**manifest.settings)
        return cls(settings, spec["family"], recommender, ids["users"], ids["items"], history,
                   tensors["fallback.counts"].astype(np.float64), titles, full)


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SettingsError(f"k must be a whole number of items ≥ 1; got {k!r}.")
    return k
