"""The trained answer retriever: ask / answer / predict / evaluate / explain, and its bundle.

Bundle files (no pickle; texts and ids are JSON):
    weights.safetensors   answers.embeddings (A, D), examples.embeddings (Q, D),
                          examples.answers (Q,); encoder.* when the encoder was fine-tuned
    knowledge_base.json   the answers: id, title, reply
    examples.json         the example questions kept in the index (customers' own words)
    encoder/              config and tokenizer of a fine-tuned encoder
    metrics.json          validation metrics and the precision/coverage curve
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch

from featureship.artifacts import write_json
from featureship.data.readers import Table
from featureship.endpoints import Endpoint, Limits, text_inputs_request
from featureship.errors import BundleError, DataError, FeatureshipError, SettingsError
from featureship.evaluation.tables import ResultTable
from featureship.manifest import Manifest
from featureship.nn.device import pick_device, use_bf16
from featureship.nn.encoder import EncoderSource, TextEncoder, resolve_encoder
from featureship.tasks.answer_retrieval.calibration import Calibration, coverage_at
from featureship.tasks.answer_retrieval.data import KnowledgeBase, read_questions
from featureship.tasks.answer_retrieval.retriever import Examples, Retriever
from featureship.tasks.answer_retrieval.schemas import (
    MAX_ANSWERS,
    AnswerPredictResponse,
    AnswerResponse,
    ExplainResponse,
    answer_request,
)
from featureship.tasks.answer_retrieval.settings import AnswerRetrievalSettings
from featureship.tasks.base import DataSource, FittedModel, read_source

if TYPE_CHECKING:
    from featureship.evaluation.report import Section

WEIGHTS = "weights.safetensors"
KNOWLEDGE_BASE = "knowledge_base.json"
EXAMPLES = "examples.json"
ENCODER_DIR = "encoder"


class AnswerRetrievalModel(FittedModel):
    """Finds the standard reply for a customer's message, or hands the message to a person."""

    task: ClassVar[str] = "answer-retrieval"
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"data", "text"})
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "accuracy"), ("validation", "recall_at_3"), ("validation", "mrr"),
        ("validation", "coverage"))

    def __init__(self, settings: AnswerRetrievalSettings, retriever: Retriever, kind: str,
                 finetuned: bool = False, validation_metrics: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.kind = kind  # "bm25" | "frozen" | "finetuned"
        self.finetuned = finetuned
        self.validation_metrics = validation_metrics or {}

    @property
    def kb(self) -> KnowledgeBase:
        return self.retriever.kb

    # ---- inference ------------------------------------------------------------------------
    def _texts(self, rows: list[Any]) -> list[str]:
        bad = [i for i, t in enumerate(rows) if not isinstance(t, str)]
        if bad:
            raise FeatureshipError(f"Inputs must be texts (customer messages); item(s) "
                                   f"{', '.join(map(str, bad[:10]))} are {type(rows[bad[0]]).__name__}.")
        return list(rows)

    def _entry(self, index: int, score: float) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.kb.ids[index], "answer": self.kb.answers[index],
                                 "score": round(float(score), 6)}
        if self.kb.titles[index]:
            entry["title"] = self.kb.titles[index]
        return entry

    def ask(self, query: str | list[str], k: int = 3) -> dict[str, Any] | list[dict[str, Any]]:
        """The k best answers for a message (or each of a list) and whether to hand off.

        >>> model.ask("my card has not arrived")["answers"][0]["id"]
        'card_arrival'
        """
        if not 1 <= k <= MAX_ANSWERS:
            raise SettingsError(f"k must be between 1 and {MAX_ANSWERS}, not {k}.")
        single = isinstance(query, str)
        texts = self._texts([query] if single else list(query))
        probs = self.retriever.probabilities(texts)
        results = []
        for row in probs:
            top = np.argsort(-row, kind="stable")[: min(k, len(row))]
            results.append({"answers": [self._entry(int(i), row[i]) for i in top],
                            "handoff": self.retriever.handoff(float(row[top[0]]))})
        return results[0] if single else results

    def answer(self, query: str | None = None, queries: list[str] | None = None,
               k: int = 3) -> dict[str, Any]:
        """The /answer endpoint: `{"results": [{"answers": [...], "handoff": bool}]}`."""
        if (query is None) == (queries is None):
            raise SettingsError("Give either a query or a list of queries, not both or neither.")
        results = self.ask([query] if query is not None else queries, k=k)
        return {"results": results}

    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """The best answer per message: `{"id", "answer", "score", "handoff"}`."""
        out = []
        for result in self.ask(self._texts(list(rows)), k=1):
            best = dict(result["answers"][0])
            best["handoff"] = result["handoff"]
            out.append(best)
        return out

    def predict_cli(self, data: DataSource | None = None, text: list[str] | None = None,
                    **_: Any) -> pd.DataFrame | list[dict[str, Any]]:
        if text:
            return self.predict(text)
        if data is None:
            raise SettingsError("Give --data F (a table with the question column) or --text \"...\".")
        return self.predict_table(read_source(data))

    def _question_column(self, table: Table) -> str:
        column = self.settings.question_column or "question"
        if column not in table.frame.columns:
            from featureship.data.columns import require_columns

            require_columns(table, trained=True, question_column=column)
        return column

    def predict_table(self, table: Table) -> pd.DataFrame:
        """Every input column kept, plus prediction (answer id), answer, score, handoff."""
        column = self._question_column(table)
        frame = table.frame
        keep = [i for i, v in enumerate(frame[column]) if isinstance(v, str) and v.strip()]
        predictions = self.predict([frame[column].iloc[i] for i in keep])
        out = frame.copy()
        names = ["prediction", "answer", "score", "handoff"]
        if any(n in out.columns for n in names):  # never overwrite a column the user gave
            names = [f"featureship_{n}" for n in names]
        values = {n: pd.Series([None] * len(out), index=out.index, dtype="object") for n in names}
        for i, p in zip(keep, predictions, strict=True):
            for name, key in zip(names, ("id", "answer", "score", "handoff"), strict=True):
                values[name].iloc[i] = p[key]
        for name in names:
            out[name] = values[name]
        return out

    # ---- evaluation -----------------------------------------------------------------------
    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Top-1 accuracy, recall@3, MRR, and coverage / answered precision at the threshold."""
        table = read_source(data)
        questions = read_questions(table, self._question_column(table),
                                   self.settings.answer_id_column or "answer_id", None, trained=True)
        notes = list(questions.notes)
        index = {a: i for i, a in enumerate(self.kb.ids)}
        keep = [j for j, a in enumerate(questions.answer_ids) if a in index]
        unknown = sorted({a for a in questions.answer_ids if a not in index})
        if unknown:
            notes.append(f"{table.name}: {len(questions.texts) - len(keep)} row(s) name answer ids "
                         f"not in the knowledge base and were not scored: {', '.join(unknown[:20])}")
        if not keep:
            raise DataError(f"{table.name}: no row names an answer of this knowledge base; "
                            "nothing to score.")
        texts = [questions.texts[j] for j in keep]
        truth = np.array([index[questions.answer_ids[j]] for j in keep])
        metrics = ranking_metrics(self.retriever.probabilities(texts), truth,
                                  self.retriever.calibration)
        overlap = len(set(texts) & set(self.retriever.examples.texts))
        if overlap:
            notes.append(f"{overlap} question(s) of {table.name} are example questions the model "
                         "holds; evaluate on questions it has not seen.")
        return {**metrics, "overlap_rows": overlap, "unknown_ids": unknown, "notes": notes}

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        rows = [[k, metrics[k]] for k in ("coverage", "answered_precision", "handoff_rate")
                if k in metrics]
        return [ResultTable("hand-off at the recorded threshold", ["metric", "value"], rows)]

    # ---- explanations ---------------------------------------------------------------------
    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """For each message: its best answer, the matched text, and word weights on both sides."""
        from featureship.tasks.answer_retrieval.explain import explain_one

        return [explain_one(self.retriever, text) for text in self._texts(list(rows))]

    def explain_inputs(self, inputs: list[str]) -> dict[str, Any]:
        """The /explain endpoint (same body as /predict)."""
        return {"explanations": self.explain(inputs)}

    def explain_cli(self, data: DataSource | None = None, text: list[str] | None = None,
                    **_: Any) -> pd.DataFrame | list[dict[str, Any]]:
        if text:
            return self.explain(text)
        if data is None:
            raise SettingsError("Give --text \"...\" or --data F to explain.")
        table = read_source(data)
        column = self._question_column(table)
        texts = [v for v in table.frame[column] if isinstance(v, str) and v.strip()]
        return self.explain(texts)

    @classmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        example = manifest.input_schema.get("example") or "my card has not arrived"
        return [
            Endpoint("answer", answer_request(limits), AnswerResponse, handler="answer",
                     summary="The k best standard replies for a message (or a list of them), "
                     "each with a calibrated score, and whether to hand off to a person.",
                     example={"query": example, "k": 3}),
            Endpoint("predict", text_inputs_request(limits, "AnswerPredictRequest"),
                     AnswerPredictResponse, handler="predict",
                     summary="The best answer per message: {id, answer, score, handoff}.",
                     example={"inputs": [example]}, batch=("inputs", "predictions"), explained_by="explain"),
            Endpoint("explain", text_inputs_request(limits, "AnswerExplainRequest"),
                     ExplainResponse, handler="explain_inputs",
                     summary="Why each message got its answer: word weights of the message and "
                     "of the matched example question or reply.", example={"inputs": [example]}),
        ]

    def report_sections(self) -> list[Section]:
        from featureship.tasks.answer_retrieval.report import report_sections

        return report_sections(self)

    # ---- knowledge base -------------------------------------------------------------------
    def update_knowledge_base(self, source: DataSource | KnowledgeBase, how: str = "update",
                              id_column: str | None = None, answer_column: str | None = None,
                              title_column: str | None = None) -> dict[str, Any]:
        """Add answers (`add`), add or change them (`update`), or take the table as the whole
        new knowledge base (`replace`: answers left out are removed with their examples). Only
        new or changed answers are embedded again; the encoder and calibration are kept.
        Columns default to those the model was trained with.

        >>> model.update_knowledge_base("new_replies.csv", "add")["added"]
        3
        """
        from featureship.tasks.answer_retrieval.data import read_knowledge_base
        from featureship.tasks.answer_retrieval.knowledge import merge

        if isinstance(source, KnowledgeBase):
            kb = source
        else:
            table = read_source(source)
            trained_title = self.settings.title_column
            if title_column is None and trained_title in table.frame.columns:
                title_column = trained_title  # titles are optional in an update file
            kb = read_knowledge_base(table, id_column or self.settings.id_column,
                                     answer_column or self.settings.answer_column, title_column)

        report = merge(self.retriever, kb, how)
        self.manifest = self.describe()  # a copy we may edit
        self.manifest.training.setdefault("knowledge_base_updates", []).append(
            {k: v for k, v in report.items() if k != "notes"})
        self.manifest.data.extra["answers"] = len(self.kb.ids)
        if report["removed"] or report["added"] or report["updated"]:
            self.manifest.data.notes.append(
                "The knowledge base changed after training (" + ", ".join(
                    f"{report[k]} {k}" for k in ("added", "updated", "removed")) +
                "); the recorded metrics and threshold are from the knowledge base at training.")
        return report

    # ---- bundle ---------------------------------------------------------------------------
    def model_spec(self) -> dict[str, Any]:
        encoder = None
        if self.retriever.encoder is not None:
            source = self.retriever.encoder.source
            encoder = {"name": source.name, "sha256": source.sha256, "revision": source.revision,
                       "finetuned": self.finetuned, "max_length": self.retriever.encoder.max_length}
        return {"kind": self.kind, "encoder": encoder,
                "fusion_weight": self.retriever.fusion_weight,
                "prototype_weight": self.retriever.prototype_weight,
                "calibration": self.retriever.calibration.as_dict()}

    def save(self, directory: Path) -> None:
        r = self.retriever
        tensors = {"examples.answers": torch.from_numpy(r.examples.answers.astype(np.int64))}
        if r.encoder is not None:
            tensors["answers.embeddings"] = torch.from_numpy(np.ascontiguousarray(r.answer_embeddings))
            tensors["examples.embeddings"] = torch.from_numpy(np.ascontiguousarray(
                r.example_embeddings, dtype=np.float32))
        if self.finetuned and r.encoder is not None:
            for name, value in r.encoder.model.state_dict().items():
                tensors[f"encoder.{name}"] = value.detach().to("cpu", torch.float32).contiguous()
            target = directory / ENCODER_DIR
            target.mkdir()
            r.encoder.model.config.to_json_file(target / "config.json")
            r.encoder.tokenizer.save_pretrained(target)
            for extra in target.iterdir():  # keep only plain data files
                if extra.suffix == ".py":
                    extra.unlink()
        save_torch(tensors, str(directory / WEIGHTS))
        write_json(directory / KNOWLEDGE_BASE, {"answers": self.kb.records()})
        write_json(directory / EXAMPLES, {"questions": r.examples.texts})
        write_json(directory / "metrics.json", {"validation": self.validation_metrics})

    @classmethod
    def load(cls, directory: Path, manifest: Manifest) -> AnswerRetrievalModel:
        settings = AnswerRetrievalSettings(**manifest.settings)
        spec = manifest.model
        tensors = load_torch(str(directory / WEIGHTS))
        kb = KnowledgeBase.from_records(
            json.loads((directory / KNOWLEDGE_BASE).read_text(encoding="utf-8"))["answers"])
        texts = json.loads((directory / EXAMPLES).read_text(encoding="utf-8"))["questions"]
        examples = Examples(list(texts), tensors["examples.answers"].numpy())
        encoder, answer_emb, example_emb = None, None, None
        enc = spec.get("encoder")
        if enc:
            device = pick_device()
            bf16 = use_bf16(device, settings.precision)
            if enc.get("finetuned"):
                encoder = _load_finetuned(directory, enc, tensors, device, bf16)
            else:
                source = resolve_encoder(enc["name"], revision=enc.get("revision"))
                if enc.get("sha256") and source.sha256 != enc["sha256"]:
                    raise BundleError(
                        f"{directory}: the encoder '{enc['name']}' found at {source.path} has other "
                        f"weights (sha256 {source.sha256}) than the model was trained with "
                        f"({enc['sha256']}). Install the same encoder or retrain.")
                encoder = TextEncoder(source, device, bf16, int(enc["max_length"]))
            answer_emb = tensors["answers.embeddings"].numpy()
            example_emb = tensors["examples.embeddings"].numpy()
        calibration = Calibration(**{k: v for k, v in spec["calibration"].items()
                                     if k != "target_reached"},
                                  reached=spec["calibration"].get("target_reached", True))
        retriever = Retriever(kb, examples, encoder, answer_emb, example_emb,
                              float(spec["fusion_weight"]), calibration,
                              prototype_weight=float(spec.get("prototype_weight", 0.0)))  # older bundles: 0
        metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8")).get("validation", {})
        return cls(settings, retriever, spec["kind"], bool(enc and enc.get("finetuned")), metrics)


def ranking_metrics(probs: np.ndarray, truth: np.ndarray, calibration: Calibration) -> dict[str, Any]:
    """Ranking and hand-off numbers for questions whose right answers are `truth`."""
    order = np.argsort(-probs, axis=1, kind="stable")
    ranks = np.argmax(order == truth[:, None], axis=1) + 1  # 1 = best
    confidence = probs.max(1)
    correct = ranks == 1
    answered = confidence >= calibration.threshold
    return {
        "accuracy": float(correct.mean()), "recall_at_3": float((ranks <= 3).mean()),
        "mrr": float((1.0 / ranks).mean()), "coverage": float(answered.mean()),
        "answered_precision": float(correct[answered].mean()) if answered.any() else 0.0,
        "handoff_rate": float(1 - answered.mean()),
        f"coverage_at_{calibration.target_precision:g}_precision":
            coverage_at(confidence, correct, calibration.target_precision),
        "n": len(truth),
    }


def _load_finetuned(directory: Path, enc: dict, tensors: dict, device, bf16: bool) -> TextEncoder:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = directory / ENCODER_DIR
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_config(config)
    state = {k.removeprefix("encoder."): v for k, v in tensors.items() if k.startswith("encoder.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise BundleError(f"{directory}/{WEIGHTS}: encoder weights do not fit its config.json.")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    source = EncoderSource(enc["name"], str(folder), enc.get("sha256"))
    return TextEncoder(source, device, bf16, int(enc["max_length"]), parts=(tokenizer, model))
