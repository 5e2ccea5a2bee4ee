"""Training a tabular model: infer the schema, split, fit both learners, keep the better one.

Steps: label → problem type (classification / regression, `--problem` overrides) → column
kinds → a seeded (stratified) validation split → preprocessing fitted on training rows →
the linear baseline (regularisation chosen on validation) and LightGBM (settings searched,
early-stopped on validation) → the better on validation → refit on all rows (optional).
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from featureship.artifacts import run_folder
from featureship.backends import LOCAL, Backend, Scaling
from featureship.data.columns import require_columns, require_rows
from featureship.data.readers import Table
from featureship.errors import DataError, MissingExtraError
from featureship.manifest import Candidate, DataInfo, Manifest
from featureship.progress import Reporter, silent
from featureship.tasks.tabular import boosting, linear
from featureship.tasks.tabular.boosting import BoostedModel
from featureship.tasks.tabular.fitted import TabularModel
from featureship.tasks.tabular.linear import LinearModel
from featureship.tasks.tabular.metrics import score_predictions
from featureship.tasks.tabular.preprocess import Parsed, Preprocessor
from featureship.tasks.tabular.schema import (
    ColumnSpec,
    category_strings,
    infer_schema,
    parse_numeric,
)
from featureship.tasks.tabular.settings import TabularSettings

# A numeric label with at most this many distinct integer values is read as classes.
MAX_CLASSES_FOR_INTEGERS = 20
# Below this minority/majority ratio the imbalance is worth a note.
IMBALANCE_RATIO = 0.2
# Rows kept in metrics.json for the report's plots (calibration, residuals, importance).
PLOT_ROWS = 2000
EXPLAIN_ROWS = 500
# Tables up to this many rows choose between candidates by cross-validation.
CV_MAX_ROWS = 5000
CV_FOLDS = 5


@dataclass
class Placement:
    """Where LightGBM trains (`--backend`), its Ray checkpoint folder, and what Ray reported."""

    backend: Backend = LOCAL
    storage: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Labels:
    problem: str
    y: np.ndarray  # class indices or floats, for the kept rows
    rows: np.ndarray  # positions of the kept rows in the table
    classes: list[str]
    notes: list[str]


def infer_labels(frame: pd.DataFrame, label: str, problem: str, source: str) -> Labels:
    """The label's rows and values, and whether this is classification or regression."""
    values = frame[label]
    number, bad = parse_numeric(values)
    present = ~np.isnan(number) | bad
    notes = []
    if not present.all():
        notes.append(f"{source}: {int((~present).sum())} row(s) have no '{label}' and were not used.")
    if problem == "auto":
        distinct = np.unique(number[~np.isnan(number)])
        integral = bool(np.all(distinct == np.round(distinct)))
        numeric = not bad.any()
        problem = ("regression" if numeric and (not integral or len(distinct) > MAX_CLASSES_FOR_INTEGERS)
                   else "classification")
        notes.append(f"problem: {problem} (inferred from '{label}': "
                     + (f"{len(distinct)} distinct numbers" if numeric else "non-numeric values")
                     + "; --problem overrides)")
    rows = np.flatnonzero(present)
    if problem == "regression":
        if bad.any():
            shown = ", ".join(f"row {i + 1} ({values.iloc[i]!r})" for i in np.flatnonzero(bad)[:5])
            raise DataError(f"{source}: --problem regression needs a numeric '{label}', but it holds "
                            f"text: {shown}. Use --problem classification, or fix those cells.")
        return Labels(problem, number[rows], rows, [], notes)
    names = category_strings(values.iloc[rows]).to_numpy(dtype=object)
    keep = np.array([v is not None for v in names])
    rows, names = rows[keep], names[keep]
    counts = pd.Series(names).value_counts()
    if len(counts) < 2:
        raise DataError(f"{source}: the --label-column '{label}' has one class only "
                        f"('{counts.index[0] if len(counts) else ''}'); a classifier needs two or more.")
    rare = counts[counts < 2]
    if len(rare):
        raise DataError(f"{source}: class(es) of '{label}' with fewer than 2 rows: "
                        f"{', '.join(f'{k!r} ({v})' for k, v in rare.items())}. Each needs at least 2 "
                        "(one to learn from, one to validate on); add rows or merge those classes.")
    classes = sorted(counts.index, key=_class_order)
    index = {c: i for i, c in enumerate(classes)}
    return Labels(problem, np.array([index[v] for v in names]), rows, classes, notes)


def _class_order(label: str) -> tuple[int, float, str]:
    # numbers in numeric order ('2' < '10'), then text
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def fingerprint(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _select_key(problem: str, metrics: dict[str, Any]) -> tuple[float, ...]:
    """Higher is better: lower log-loss, then accuracy; for regression, lower RMSE.

    Log-loss (a proper scoring rule) first because on a small validation split accuracy moves
    in steps of one row and ties or flips on noise; log-loss uses every probability.
    """
    if problem == "regression":
        return (-metrics["rmse"],)
    return (-round(metrics["log_loss"], 4), metrics["accuracy"])


def _headline(problem: str, metrics: dict[str, Any]) -> dict[str, float]:
    keys = ("rmse", "mae", "r2") if problem == "regression" else ("accuracy", "macro_f1", "roc_auc", "log_loss")
    return {k: float(metrics[k]) for k in keys if k in metrics and math.isfinite(metrics[k])}


class TabularTask:
    name: ClassVar[str] = "tabular"
    settings_class: ClassVar[type] = TabularSettings
    model_class: ClassVar[type] = TabularModel
    # settings that name columns of the training table (the console offers its columns)
    data_columns: ClassVar[tuple[str, ...]] = ("label_column", "ignore_columns")
    # --backend ray: LightGBM's search and refit train on Ray Train workers (rows split, trees
    # grown data-parallel); the preprocessing, the linear baseline and the small-table
    # cross-validation stay on the driver (seconds).
    scaling: ClassVar[Scaling] = Scaling("distributed LightGBM with Ray Train (data-parallel trees)",
                                         "model", ("auto", "lightgbm"))

    def fit(self, data: Table, settings: TabularSettings, progress: Reporter,
            validation: Table | None = None, output: Path | None = None,
            backend: Backend = LOCAL) -> TabularModel:
        where = Placement(backend, run_folder(output) / "ray" if output is not None else None)
        if not backend.is_ray:
            return self._fit(data, settings, progress, validation, where)
        from featureship.backends.cluster import ray_cluster

        with ray_cluster(backend, progress):  # one connection for the search and the refit
            return self._fit(data, settings, progress, validation, where)

    def _fit(self, data: Table, settings: TabularSettings, progress: Reporter, validation: Table | None,
             where: Placement) -> TabularModel:
        started = time.monotonic()
        frame = data.frame
        require_columns(data, label_column=settings.label_column)
        require_rows(data)
        self._check_ignored(data, settings)
        labels = infer_labels(frame, settings.label_column, settings.problem, data.name)
        notes = list(data.notes) + labels.notes
        schema = infer_schema(frame.iloc[labels.rows], settings.label_column, settings.ignore_columns, data.name)
        notes += schema.notes
        for note in notes:
            progress.note(note)
        kinds = ", ".join(f"{c.name}: {c.kind}" for c in schema.columns)
        progress.info(f"{len(schema.columns)} feature column(s): {kinds}")
        class_weight = "balanced" if settings.class_weight == "balanced" else None
        if labels.problem == "classification":
            notes += self._imbalance(labels, settings, progress)
        if labels.problem == "regression" and class_weight:
            raise DataError("--class-weight balanced applies to classification; this is a regression.")

        train_frame, y_train, valid_frame, y_valid, valid_desc = self._split(
            frame, labels, validation, settings, data.name)
        prep, parsed_train, parsed_valid, oof = self._prepare(
            schema.columns, labels.problem, train_frame, y_train, valid_frame, settings, class_weight)
        n_classes = len(labels.classes)
        candidates, built = [], {}
        if settings.model in ("auto", "linear"):
            model, info = self._linear(prep, parsed_train, y_train, parsed_valid, y_valid, labels,
                                       class_weight, settings, progress)
            built["linear"], _ = model, candidates.append(info)
        use_boosting = settings.model in ("auto", "lightgbm")
        if settings.model == "auto":
            try:
                boosting.import_lightgbm()
            except MissingExtraError as exc:  # auto still has a model to offer: say what is missing
                progress.note(f"LightGBM is not a candidate: {exc}")
                notes.append(f"LightGBM was not tried: {exc}")
                use_boosting = False
        if use_boosting:
            model, info = self._lightgbm(prep, parsed_train, y_train, oof, parsed_valid, y_valid,
                                         labels, class_weight, settings, progress, where)
            built["lightgbm"], _ = model, candidates.append(info)
        best = max(candidates, key=lambda c: _select_key(labels.problem, c["metrics"]))
        chosen_how = "validation"
        n_rows = len(y_train) + len(y_valid)
        if len(candidates) > 1 and validation is None and n_rows <= CV_MAX_ROWS:
            # The boosted candidate's validation score is optimistic: early stopping and its
            # settings were picked on those same rows. On small tables that bias decides the
            # race, so the finalists are compared by cross-validation with settings held fixed.
            with progress.step(f"{CV_FOLDS}-fold cross-validation of the candidates", total=None):
                scores = self._cross_validate(schema.columns, labels, train_frame, y_train, valid_frame,
                                              y_valid, built, settings, class_weight)
            for c in candidates:
                c["cv"] = scores[c["name"]]
                c["details"]["cross_validation"] = _headline(labels.problem, c["cv"])
            best = max(candidates, key=lambda c: _select_key(labels.problem, c["cv"]))
            chosen_how = f"{CV_FOLDS}-fold cross-validation (settings fixed)"
        chosen_name = best["name"]
        progress.info(f"chose {chosen_name} on {chosen_how}")
        validated = TabularModel(settings, labels.problem, labels.classes, prep, built[chosen_name])
        validated.manifest = Manifest(task=self.name, input_schema=self._input_schema(prep, schema, settings, labels))
        details = self._validation_details(validated, parsed_valid, valid_frame, y_valid, best["metrics"])

        final = validated
        refit_note = ""
        if settings.refit and validation is None:
            with progress.step("refitting the chosen model on train + validation", total=None):
                final = self._refit(schema.columns, labels, train_frame, y_train, valid_frame, y_valid,
                                    chosen_name, built[chosen_name], settings, class_weight, n_classes,
                                    where, progress)
            refit_note = ("; the saved model was then refit on train + validation with the same "
                          "settings, so held-out data should score slightly better")
        final.validation = details
        final.manifest = Manifest(
            task=self.name, seed=settings.seed, settings=settings.model_dump(),
            input_schema=self._input_schema(final.prep, schema, settings, labels),
            labels=labels.classes, metrics=_headline(labels.problem, best["metrics"]),
            metrics_on=f"validation split ({valid_desc}); it also chose the settings, and the "
                       f"model was chosen on {chosen_how}" + refit_note,
            model=final.model_spec(), chosen=chosen_name,
            candidates=[Candidate(name=c["name"], seconds=round(c["seconds"], 2),
                                  validation=_headline(labels.problem, c["metrics"]),
                                  details=c["details"]) for c in candidates],
            training={"seconds_total": round(time.monotonic() - started, 1), "problem": labels.problem,
                      "refit": bool(refit_note), **where.info},
            data=DataInfo(source=str(data.path), fingerprint=fingerprint(frame), train_rows=len(y_train),
                          validation_rows=len(y_valid), validation=valid_desc, notes=notes,
                          skipped_rows=len(frame) - len(labels.rows),
                          extra={"class_counts": self._class_counts(labels)}),
        )
        return final

    # ----- steps ---------------------------------------------------------------------------------
    @staticmethod
    def _check_ignored(data: Table, settings: TabularSettings) -> None:
        unknown = [c for c in settings.ignore_columns if c not in data.frame.columns]
        if unknown:
            raise DataError(f"--ignore-columns names column(s) not in {data.name}: "
                            f"{', '.join(repr(c) for c in unknown)}; its columns are: "
                            f"{', '.join(map(str, data.frame.columns))}.")
        if settings.label_column in settings.ignore_columns:
            raise DataError(f"--ignore-columns lists the label column '{settings.label_column}'.")

    @staticmethod
    def _class_counts(labels: Labels) -> dict[str, int]:
        if labels.problem == "regression":
            return {}
        counts = np.bincount(labels.y, minlength=len(labels.classes))
        return {c: int(n) for c, n in zip(labels.classes, counts, strict=True)}

    def _imbalance(self, labels: Labels, settings: TabularSettings, progress: Reporter) -> list[str]:
        counts = self._class_counts(labels)
        low, high = min(counts.values()), max(counts.values())
        shares = ", ".join(f"{c}: {n / len(labels.y):.1%}" for c, n in counts.items())
        progress.info(f"classes: {shares}")
        if low / high >= IMBALANCE_RATIO:
            return []
        minority = min(counts, key=counts.get)
        note = (f"class imbalance: '{minority}' has {low:,} rows against {high:,} for the largest class "
                f"({shares}); accuracy flatters the majority class, read macro-F1 too"
                + ("." if settings.class_weight == "balanced" else "; consider --class-weight balanced."))
        progress.note(note)
        return [note]

    @staticmethod
    def _split(frame: pd.DataFrame, labels: Labels, validation: Table | None, settings: TabularSettings,
               source: str) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, str]:
        kept = frame.iloc[labels.rows].reset_index(drop=True)
        if validation is not None:
            require_columns(validation, label_column=settings.label_column)
            valid_labels = infer_labels(validation.frame, settings.label_column, labels.problem, validation.name)
            if labels.problem == "classification":
                index = {c: i for i, c in enumerate(labels.classes)}
                names = [valid_labels.classes[i] for i in valid_labels.y]
                keep = np.array([n in index for n in names])
                y_valid = np.array([index[n] for n, k in zip(names, keep, strict=True) if k])
                rows = valid_labels.rows[keep]
            else:
                y_valid, rows = valid_labels.y, valid_labels.rows
            return (kept, labels.y, validation.frame.iloc[rows].reset_index(drop=True), y_valid,
                    validation.name)
        stratify = labels.y if labels.problem == "classification" else None
        n_valid = max(int(round(len(kept) * settings.validation_fraction)),
                      len(labels.classes) if stratify is not None else 1)
        train_idx, valid_idx = train_test_split(np.arange(len(kept)), test_size=n_valid,
                                                stratify=stratify, random_state=settings.seed)
        train_idx, valid_idx = np.sort(train_idx), np.sort(valid_idx)
        kind = "stratified " if stratify is not None else ""
        desc = f"a {kind}{settings.validation_fraction:.0%} split of {source}, seed {settings.seed}"
        return (kept.iloc[train_idx].reset_index(drop=True), labels.y[train_idx],
                kept.iloc[valid_idx].reset_index(drop=True), labels.y[valid_idx], desc)

    @staticmethod
    def _prepare(columns: list[ColumnSpec], problem: str, train_frame: pd.DataFrame, y_train: np.ndarray,
                 valid_frame: pd.DataFrame | None, settings: TabularSettings, class_weight: str | None
                 ) -> tuple[Preprocessor, Parsed, Parsed | None, np.ndarray]:
        prep = Preprocessor(copy.deepcopy(columns), problem)
        prep.fit_datetime_flags(train_frame)
        parsed_train = prep.parse(train_frame, "training rows")
        oof = prep.fit(parsed_train, y_train, class_weight, settings.seed, settings.max_categories)
        parsed_valid = prep.parse(valid_frame, "validation rows") if valid_frame is not None else None
        return prep, parsed_train, parsed_valid, oof

    def _linear(self, prep: Preprocessor, parsed_train: Parsed, y_train: np.ndarray, parsed_valid: Parsed,
                y_valid: np.ndarray, labels: Labels, class_weight: str | None, settings: TabularSettings,
                progress: Reporter) -> tuple[LinearModel, dict[str, Any]]:
        t0 = time.monotonic()
        x_train, x_valid = prep.linear_matrix(parsed_train), prep.linear_matrix(parsed_valid)
        grid = linear.ALPHA_GRID if labels.problem == "regression" else linear.C_GRID
        tried, best = [], None
        with progress.step("linear baseline", total=len(grid)) as step:
            for strength in grid:
                model = LinearModel.fit(x_train, y_train, labels.problem, strength, class_weight, settings.seed)
                metrics = self._score(model.raw(x_valid), y_valid, labels)
                tried.append({"strength": strength, **_headline(labels.problem, metrics)})
                if best is None or _select_key(labels.problem, metrics) > _select_key(labels.problem, best[1]):
                    best = (model, metrics)
                step.advance()
        name = "ridge" if labels.problem == "regression" else "logistic regression"
        return best[0], {"name": "linear", "metrics": best[1], "seconds": time.monotonic() - t0,
                         "details": {"model": name, "regularisation": best[0].regularisation, "grid": tried,
                                     "features": int(x_train.shape[1])}}

    def _lightgbm(self, prep: Preprocessor, parsed_train: Parsed, y_train: np.ndarray, oof: np.ndarray,
                  parsed_valid: Parsed, y_valid: np.ndarray, labels: Labels, class_weight: str | None,
                  settings: TabularSettings, progress: Reporter,
                  where: Placement) -> tuple[BoostedModel, dict[str, Any]]:
        t0 = time.monotonic()
        x_train, x_valid = prep.tree_matrix(parsed_train, oof), prep.tree_matrix(parsed_valid)
        _, _, categorical = prep.tree_features()
        weights = _weights(y_train, len(labels.classes)) if class_weight else None
        if where.backend.is_ray:
            from featureship.tasks.tabular.boosting_ray import search_on_ray

            trials, info = search_on_ray(x_train, y_train, weights, x_valid, y_valid, labels.problem,
                                         len(labels.classes), categorical, settings.time_budget_minutes * 60,
                                         settings.seed, where.backend, where.storage, progress)
            where.info.update({k: v for k, v in info.items() if k != "ray_seconds"},
                              ray_seconds_search=info["ray_seconds"])
        else:
            trials = boosting.search(x_train, y_train, weights, x_valid, y_valid, labels.problem,
                                     len(labels.classes), categorical, settings.time_budget_minutes * 60,
                                     settings.seed, progress)
        scored = []
        for trial in trials:
            model = BoostedModel.from_trial(trial, labels.problem, len(labels.classes))
            scored.append((model, self._score(model.raw(x_valid), y_valid, labels), trial))
        model, metrics, trial = max(scored, key=lambda s: _select_key(labels.problem, s[1]))
        details = {"params": {k: trial.params[k] for k in ("num_leaves", "min_data_in_leaf",
                                                           "feature_fraction", "lambda_l2", "learning_rate")},
                   "rounds": trial.rounds,
                   "trials": [{"num_leaves": t.params["num_leaves"], "rounds": t.rounds,
                               "validation_loss": round(t.score, 5)} for t in trials]}
        return model, {"name": "lightgbm", "metrics": metrics, "seconds": time.monotonic() - t0,
                       "details": details}

    @staticmethod
    def _score(raw: np.ndarray, y: np.ndarray, labels: Labels) -> dict[str, Any]:
        if labels.problem == "regression":
            return score_predictions("regression", y, raw[:, 0], labels.classes)
        probs = np.column_stack([1 / (1 + np.exp(raw[:, 0])), 1 / (1 + np.exp(-raw[:, 0]))]) \
            if raw.shape[1] == 1 else _softmax(raw)
        return score_predictions("classification", y, probs, labels.classes)

    def _cross_validate(self, columns: list[ColumnSpec], labels: Labels, train_frame: pd.DataFrame,
                        y_train: np.ndarray, valid_frame: pd.DataFrame, y_valid: np.ndarray,
                        built: dict[str, LinearModel | BoostedModel], settings: TabularSettings,
                        class_weight: str | None) -> dict[str, dict[str, Any]]:
        """Out-of-fold scores of every candidate over train + validation, settings fixed; the
        preprocessing of a fold is fitted once and shared by the candidates."""
        from sklearn.model_selection import KFold, StratifiedKFold

        frame = pd.concat([train_frame, valid_frame], ignore_index=True)
        y = np.concatenate([y_train, y_valid])
        n_classes = len(labels.classes)
        if labels.problem == "classification":
            folds = StratifiedKFold(min(CV_FOLDS, int(np.bincount(y).min())), shuffle=True,
                                    random_state=settings.seed)
        else:
            folds = KFold(CV_FOLDS, shuffle=True, random_state=settings.seed)
        width = 1 if labels.problem == "regression" or n_classes == 2 else n_classes
        raw = {name: np.zeros((len(y), width)) for name in built}
        for fit_rows, held in folds.split(np.zeros(len(y)), y if labels.problem == "classification" else None):
            held_frame = frame.iloc[held].reset_index(drop=True)
            prep, parsed, parsed_held, oof = self._prepare(
                columns, labels.problem, frame.iloc[fit_rows].reset_index(drop=True), y[fit_rows],
                held_frame, settings, class_weight)
            for name, model in built.items():
                learner = self._fit_like(name, model, prep, parsed, oof, y[fit_rows], labels, settings,
                                         class_weight, len(y_train))
                raw[name][held] = TabularModel(settings, labels.problem, labels.classes, prep, learner).raw(parsed_held)
        return {name: self._score(values, y, labels) for name, values in raw.items()}

    def _fit_like(self, name: str, model: LinearModel | BoostedModel, prep: Preprocessor, parsed: Parsed,
                  oof: np.ndarray, y: np.ndarray, labels: Labels, settings: TabularSettings,
                  class_weight: str | None, searched_rows: int, on_ray: Placement | None = None,
                  progress: Reporter | None = None) -> LinearModel | BoostedModel:
        """A new fit of `name` with `model`'s settings on prepared rows (LightGBM on Ray with `on_ray`)."""
        if name == "linear":
            return LinearModel.fit(prep.linear_matrix(parsed), y, labels.problem, model.regularisation,
                                   class_weight, settings.seed)
        _, _, categorical = prep.tree_features()
        # more rows support proportionally more rounds at the same learning rate
        rounds = max(1, int(round(model.rounds * len(y) / searched_rows)))
        n_classes = len(labels.classes)
        x, w = prep.tree_matrix(parsed, oof), _weights(y, n_classes) if class_weight else None
        if on_ray is not None:
            from featureship.tasks.tabular.boosting_ray import fit_on_ray

            booster, info = fit_on_ray(x, y, w, categorical, model.params, rounds, on_ray.backend,
                                       on_ray.storage, progress or silent())
            on_ray.info["ray_seconds_refit"] = info["ray_seconds"]
            return BoostedModel(labels.problem, n_classes, booster, model.params, rounds)
        return BoostedModel.fit(x, y, w, labels.problem, n_classes, categorical, model.params, rounds)

    def _refit(self, columns: list[ColumnSpec], labels: Labels, train_frame: pd.DataFrame, y_train: np.ndarray,
               valid_frame: pd.DataFrame, y_valid: np.ndarray, chosen: str, model: LinearModel | BoostedModel,
               settings: TabularSettings, class_weight: str | None, n_classes: int,
               where: Placement, progress: Reporter) -> TabularModel:
        """The chosen settings fitted again on train + validation (LightGBM where it trained)."""
        frame = pd.concat([train_frame, valid_frame], ignore_index=True)
        y = np.concatenate([y_train, y_valid])
        prep, parsed, _, oof = self._prepare(columns, labels.problem, frame, y, None, settings, class_weight)
        learner = self._fit_like(chosen, model, prep, parsed, oof, y, labels, settings, class_weight, len(y_train),
                                 where if where.backend.is_ray else None, progress)
        return TabularModel(settings, labels.problem, labels.classes, prep, learner)

    @staticmethod
    def _input_schema(prep: Preprocessor, schema: Any, settings: TabularSettings, labels: Labels) -> dict[str, Any]:
        columns = [{"name": c.name, "kind": c.kind, "missing_share": c.missing_share,
                    **({"categories": c.categories[:20]} if c.kind == "categorical" else {})}
                   for c in prep.columns]
        example = {}
        for c in prep.columns:
            example[c.name] = {"numeric": round(c.median[0], 4) if c.median else 0.0,
                               "boolean": bool(c.median and c.median[0] >= 0.5),
                               "datetime": "2024-05-31",
                               "categorical": c.categories[0] if c.categories else "a",
                               "text": "an example text"}[c.kind]
        return {"label_column": settings.label_column, "problem": labels.problem, "columns": columns,
                "dropped": schema.dropped, "ignored": list(settings.ignore_columns), "example": example}

    def _validation_details(self, model: TabularModel, parsed: Parsed, frame: pd.DataFrame, y: np.ndarray,
                            metrics: dict[str, Any]) -> dict[str, Any]:
        """What the report shows: full metrics, a sample of outputs, per-column importances."""
        rng = np.random.default_rng(0)
        sample = np.sort(rng.permutation(len(y))[:PLOT_ROWS])
        raw = model.raw(parsed)
        if model.problem == "regression":
            plots = {"y_true": y[sample].tolist(), "y_pred": raw[sample, 0].tolist()}
        else:
            probs = model.probabilities(raw)
            plots = {"y_true": y[sample].tolist(), "probs": np.round(probs[sample], 5).tolist()}
        explain_rows = np.sort(rng.permutation(len(y))[:EXPLAIN_ROWS])
        subset = Parsed({k: (v[explain_rows] if isinstance(v, np.ndarray)
                             else v.iloc[explain_rows].reset_index(drop=True) if isinstance(v, pd.Series)
                             else [v[i] for i in explain_rows]) for k, v in parsed.values.items()},
                        len(explain_rows))
        contrib, _, _, _ = model.contributions(subset)
        importance = np.abs(contrib).mean(0)
        return {"metrics": {k: v for k, v in metrics.items()}, "plots": plots,
                "importance": {"columns": model.feature_names, "values": importance.tolist(),
                               "measure": "mean |SHAP contribution| on validation rows"}}


def _weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return (len(y) / (n_classes * np.maximum(counts, 1)))[y]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
