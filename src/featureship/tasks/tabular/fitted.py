"""The trained tabular model: preprocessing + the chosen learner (linear or LightGBM).

Bundle files: preprocessing.json (inferred schema: kinds, categories, scaling stats),
text_vocabulary.json (TF-IDF words of text columns), weights.safetensors (linear
coefficients, text arrays, importances), lightgbm.model.txt (LightGBM's own text format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel
from safetensors.numpy import load_file, save_file

from featureship.artifacts import write_json
from featureship.data.columns import require_rows
from featureship.data.readers import Table
from featureship.endpoints import Endpoint, Limits
from featureship.errors import DataError, FeatureshipError
from featureship.evaluation.tables import ResultTable, per_class_table
from featureship.manifest import Manifest
from featureship.progress import Reporter
from featureship.tasks.base import DataSource, FittedModel, read_source
from featureship.tasks.tabular import schemas
from featureship.tasks.tabular.boosting import BoostedModel
from featureship.tasks.tabular.linear import LinearModel
from featureship.tasks.tabular.metrics import score_predictions
from featureship.tasks.tabular.preprocess import Parsed, Preprocessor
from featureship.tasks.tabular.schema import category_strings, parse_numeric
from featureship.tasks.tabular.settings import TabularSettings

if TYPE_CHECKING:
    from featureship.evaluation.report import Section

WEIGHTS = "weights.safetensors"
PREPROCESSING = "preprocessing.json"
VOCABULARY = "text_vocabulary.json"
LIGHTGBM = "lightgbm.model.txt"
_EXPLAINED = {"regression": "the predicted value",
              "binary": "the log-odds of the predicted class",
              "multiclass": "the logit (softmax input) of the predicted class"}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class TabularModel(FittedModel):
    """A fitted classifier or regressor over a table's columns."""

    task: ClassVar[str] = "tabular"
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"data"})
    batch_input: ClassVar[str | None] = "table"
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "accuracy"), ("validation", "macro_f1"), ("validation", "rmse"),
        ("validation", "r2"))

    def __init__(self, settings: TabularSettings, problem: str, classes: list[str], prep: Preprocessor,
                 learner: LinearModel | BoostedModel, validation: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.problem = problem
        self.classes = classes
        self.prep = prep
        self.learner = learner
        self.validation = validation or {}  # metrics, plot data and importances on validation

    # ----- core --------------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.prep.columns]

    def _features(self, parsed: Parsed):
        if isinstance(self.learner, LinearModel):
            return self.prep.linear_matrix(parsed)
        return self.prep.tree_matrix(parsed)

    def raw(self, parsed: Parsed) -> np.ndarray:
        return self.learner.raw(self._features(parsed))

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        if raw.shape[1] == 1:  # binary: log-odds of the second class
            p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1 - p, p])
        return softmax(raw)

    def _results(self, raw: np.ndarray) -> list[dict[str, Any]]:
        if self.problem == "regression":
            return [{"prediction": float(v)} for v in raw[:, 0]]
        probs = self.probabilities(raw)
        out = []
        for row in probs:
            best = int(row.argmax())
            out.append({"prediction": self.classes[best], "score": float(row[best]),
                        "scores": {c: float(p) for c, p in zip(self.classes, row, strict=True)}})
        return out

    # ----- inputs --------------------------------------------------------------------------------
    def _rows_frame(self, rows: list[Any]) -> tuple[pd.DataFrame, list[str]]:
        """Request rows (dicts, or validated REST rows) as a frame; keys that are not features."""
        records = []
        for i, row in enumerate(rows):
            if isinstance(row, BaseModel):
                row = row.model_dump(by_alias=True)
            if not isinstance(row, dict):
                raise FeatureshipError(
                    f"input {i} is {type(row).__name__}, not an object; each input maps column names "
                    f"to values, e.g. {json.dumps(self._example_row())}.")
            records.append(row)
        names = self.feature_names
        missing = sorted({n for r in records for n in names if n not in r}, key=names.index)
        if missing:
            where = [i for i, r in enumerate(records) if any(n not in r for n in missing)]
            raise DataError(
                f"{len(missing)} feature column(s) the model was trained with are missing: "
                f"{', '.join(repr(n) for n in missing)} (in input(s) {', '.join(map(str, where[:10]))}). "
                "Send every column; use null for a missing value.")
        extra = sorted({k for r in records for k in r if k not in names and k not in self._known_others})
        frame = pd.DataFrame.from_records(
            [{n: r.get(n) for n in names} for r in records], columns=names).astype(object)
        return frame, extra

    @property
    def _known_others(self) -> set[str]:
        """Columns of the training table that are not features: no need to report them."""
        schema = self._known_manifest().input_schema
        return {schema.get("label_column", ""), *schema.get("ignored", []), *schema.get("dropped", {})}

    def _table_frame(self, table: Table, note: Reporter | None = None) -> pd.DataFrame:
        require_rows(table)
        names = self.feature_names
        missing = [n for n in names if n not in table.frame.columns]
        if missing:
            raise DataError(
                f"{table.name} lacks {len(missing)} feature column(s) the model was trained with: "
                f"{', '.join(repr(n) for n in missing)}; its columns are: "
                f"{', '.join(map(str, table.frame.columns))}. Add or rename those columns.")
        extra = [str(c) for c in table.frame.columns if c not in names and c not in self._known_others]
        if extra and note is not None:
            note.note(f"{table.name}: column(s) {', '.join(repr(c) for c in extra)} are not features of "
                      "this model and were ignored (kept in the output).")
        return table.frame[names]

    def _example_row(self) -> dict[str, Any]:
        example = self._known_manifest().input_schema.get("example") or {}
        return dict(example)

    # ----- inference -------------------------------------------------------------------------
    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """One `{"prediction", "score", "scores"}` (classification) or `{"prediction"}` per row."""
        if not rows:
            return []
        frame, extra = self._rows_frame(list(rows))
        parsed = self.prep.parse(frame, "inputs", row_name="input", first_row=0)
        results = self._results(self.raw(parsed))
        if extra:
            for result in results:
                result["ignored_columns"] = extra
        return results

    def predict_table(self, table: Table, note: Reporter | None = None) -> pd.DataFrame:
        """Every input column kept, plus `prediction` (and `score` for classification)."""
        frame = self._table_frame(table, note)
        parsed = self.prep.parse(frame, table.name)
        raw = self.raw(parsed)
        out = table.frame.copy()
        names = ["prediction", "score"] if self.problem == "classification" else ["prediction"]
        if any(n in out.columns for n in names):  # never overwrite a column the user gave
            names = [f"featureship_{n}" for n in names]
        if self.problem == "regression":
            out[names[0]] = raw[:, 0]
        else:
            probs = self.probabilities(raw)
            out[names[0]] = [self.classes[i] for i in probs.argmax(1)]
            out[names[1]] = probs.max(1)
        return out

    def predict_cli(self, data: DataSource | None = None, **_: Any) -> pd.DataFrame:
        if data is None:
            raise FeatureshipError("Give --data F: a table with the model's feature columns.")
        return self.predict_table(read_source(data), Reporter())

    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Held-out metrics: accuracy, macro_f1, roc_auc (classification) or rmse, mae, r2."""
        table = read_source(data)
        label = self.settings.label_column
        if label not in table.frame.columns:
            raise DataError(f"{table.name} has no column '{label}', the label column the model was "
                            f"trained with; its columns are: {', '.join(map(str, table.frame.columns))}.")
        frame = self._table_frame(table)
        notes = list(table.notes)
        if self.problem == "regression":
            y, bad = parse_numeric(table.frame[label])
            if bad.any():
                rows = np.flatnonzero(bad)[:10] + 1
                raise DataError(f"{table.name}: the label '{label}' is not a number in row(s) "
                                f"{', '.join(map(str, rows))}; a regression model scores numbers only.")
            keep = ~np.isnan(y)
        else:
            y = category_strings(table.frame[label]).to_numpy(dtype=object)
            known = set(self.classes)
            present = np.array([v is not None for v in y])
            unseen = sorted({v for v in y[present] if v not in known})
            if unseen:
                notes.append(f"{table.name}: {int(sum(v in unseen for v in y))} row(s) carry labels the "
                             f"model never saw and were not scored: {', '.join(unseen[:20])}")
            keep = present & np.array([v in known for v in y])
        if (~keep).sum() and (~keep).sum() > 0:
            notes.append(f"{table.name}: {int((~keep).sum())} row(s) without a usable '{label}' were not scored.")
        if not keep.any():
            raise DataError(f"{table.name}: no row has a usable '{label}'; nothing to score.")
        frame = frame[keep].reset_index(drop=True)
        parsed = self.prep.parse(frame, table.name)
        raw = self.raw(parsed)
        if self.problem == "regression":
            metrics = score_predictions("regression", y[keep], raw[:, 0], self.classes)
        else:
            index = {c: i for i, c in enumerate(self.classes)}
            truth = np.array([index[v] for v in y[keep]])
            metrics = score_predictions("classification", truth, self.probabilities(raw), self.classes)
        return {**metrics, "rows_skipped": int((~keep).sum()), "notes": notes}

    # ----- explanations --------------------------------------------------------------------------
    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Per-row contributions of each input column to the predicted class's output.

        LightGBM: TreeSHAP (exact); linear: w·(x − mean). In both, `base_value` plus the
        contributions equals `output` (log-odds / logit of the predicted class, or the value).
        """
        if not rows:
            return []
        frame, extra = self._rows_frame(list(rows))
        parsed = self.prep.parse(frame, "inputs", row_name="input", first_row=0)
        out = self._explain_parsed(parsed, frame)
        if extra:
            for item in out:
                item["ignored_columns"] = extra
        return out

    def explain_inputs(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """REST /explain: rows arrive with the request model's field names; map back to columns."""
        rename = {schemas._python_name(i, n): n for i, n in enumerate(self.feature_names)}
        rows = [{rename.get(k, k): v for k, v in row.items()} for row in inputs]
        return {"explanations": self.explain(rows)}

    def explain_cli(self, data: DataSource | None = None, **_: Any) -> list[dict[str, Any]]:
        if data is None:
            raise FeatureshipError("Give --data F: a table with the model's feature columns.")
        table = read_source(data)
        frame = self._table_frame(table, Reporter())
        parsed = self.prep.parse(frame, table.name)
        return [{"row": i + 1, **e} for i, e in enumerate(self._explain_parsed(parsed, frame))]

    def contributions(self, parsed: Parsed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(contributions (N, columns), base (N,), output (N,), predicted class (N,))."""
        x = self._features(parsed)
        raw = self.learner.raw(x)
        if self.problem == "regression":
            predicted = np.zeros(len(raw), dtype=int)
        else:
            predicted = self.probabilities(raw).argmax(1)
        if isinstance(self.learner, LinearModel):
            groups, _ = self.prep.linear_groups()
        else:
            groups, _, _ = self.prep.tree_features()
        contrib, base, _ = self.learner.contributions(x, groups, len(self.prep.columns), predicted)
        # the output reported is the model's own (not base + contributions), so additivity is
        # a property a test can check, not a definition
        if raw.shape[1] == 1:
            output = raw[:, 0] if self.problem == "regression" else np.where(predicted == 1, raw[:, 0], -raw[:, 0])
        else:
            output = raw[np.arange(len(raw)), predicted]
        return contrib, base, output, predicted

    def _explain_parsed(self, parsed: Parsed, frame: pd.DataFrame) -> list[dict[str, Any]]:
        contrib, base, output, predicted = self.contributions(parsed)
        kind = ("regression" if self.problem == "regression"
                else "binary" if len(self.classes) == 2 else "multiclass")
        names = self.feature_names
        results = []
        for i in range(len(contrib)):
            order = np.argsort(-np.abs(contrib[i]), kind="stable")
            value = lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else (  # noqa: E731
                v.item() if hasattr(v, "item") else v)
            results.append({
                "prediction": float(output[i]) if self.problem == "regression" else self.classes[predicted[i]],
                "explained": _EXPLAINED[kind],
                "output": float(output[i]), "base_value": float(base[i]),
                "contributions": [{"column": names[j], "value": value(frame.iloc[i, j]),
                                   "contribution": float(contrib[i, j])} for j in order],
            })
        return results

    # ----- serving ----------------------------------------------------------------------------
    @classmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        example = {"inputs": [manifest.input_schema.get("example") or {}]}
        predict = schemas.request_model(manifest.input_schema, limits, "TabularPredictRequest", example)
        explain = schemas.request_model(manifest.input_schema, limits, "TabularExplainRequest", example)
        return [
            Endpoint(name="predict", request=predict, response=schemas.TabularPredictResponse,
                     handler="predict", example=example, batch=("inputs", "predictions"), explained_by="explain",
                     summary="Predict for table rows: one {prediction, score, scores} per row."),
            Endpoint(name="explain", request=explain, response=schemas.TabularExplainResponse,
                     handler="explain_inputs", example=example,
                     summary="Why each prediction: every column's SHAP contribution to the "
                             "predicted class's output (they sum to output − base_value)."),
        ]

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        per_class = metrics.get("per_class")
        return [per_class_table(per_class)] if per_class else []

    def report_sections(self) -> list[Section]:
        from featureship.tasks.tabular.report import report_sections

        return report_sections(self.validation, self.describe())

    # ----- bundle ------------------------------------------------------------------------------
    def model_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": self.learner.kind, "problem": self.problem}
        if isinstance(self.learner, BoostedModel):
            spec.update(params=self.learner.params, rounds=self.learner.rounds, file=LIGHTGBM)
        else:
            spec.update(regularisation=self.learner.regularisation)
        return spec

    def save(self, directory: Path) -> None:
        tensors, vocabularies = self.prep.arrays()
        if isinstance(self.learner, LinearModel):
            tensors.update({"linear.weight": self.learner.weight, "linear.bias": self.learner.bias,
                            "linear.feature_mean": self.learner.feature_mean})
        else:
            (directory / LIGHTGBM).write_text(self.learner.to_string(), encoding="utf-8")
        tensors["importance.columns"] = np.asarray(
            self.validation.get("importance", {}).get("values", [0.0] * len(self.prep.columns)), dtype=np.float64)
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(directory / WEIGHTS))
        write_json(directory / PREPROCESSING, self.prep.to_json())
        if vocabularies:
            (directory / VOCABULARY).write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
        write_json(directory / "metrics.json", {"validation": self.validation})

    @classmethod
    def load(cls, directory: Path, manifest: Manifest) -> TabularModel:
        settings = TabularSettings(**manifest.settings)
        tensors = load_file(str(directory / WEIGHTS))
        vocabularies = {}
        if (directory / VOCABULARY).is_file():
            vocabularies = json.loads((directory / VOCABULARY).read_text(encoding="utf-8"))
        spec = json.loads((directory / PREPROCESSING).read_text(encoding="utf-8"))
        prep = Preprocessor.from_stored(spec, tensors, vocabularies)
        model = manifest.model
        problem = model["problem"]
        classes = list(manifest.labels)
        learner: LinearModel | BoostedModel
        if model["kind"] == "linear":
            learner = LinearModel(problem, tensors["linear.weight"], tensors["linear.bias"],
                                  tensors["linear.feature_mean"], float(model["regularisation"]))
        else:
            learner = BoostedModel.from_string((directory / LIGHTGBM).read_text(encoding="utf-8"), problem,
                                               len(classes), model["params"], int(model["rounds"]))
        validation = json.loads((directory / "metrics.json").read_text(encoding="utf-8")).get("validation", {})
        return cls(settings, problem, classes, prep, learner, validation)
