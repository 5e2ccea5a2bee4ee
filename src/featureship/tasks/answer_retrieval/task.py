"""Training: read the knowledge base and questions, build candidates, calibrate, pick the best.

Candidates (scored on held-out labelled questions, `auto` keeps the best top-1 accuracy):
    bm25              lexical only
    frozen hybrid     MiniLM similarity to answers and examples, fused with BM25
    finetuned hybrid  the same with the encoder tuned contrastively on the training questions
    ... + self-training  the better hybrid with unlabelled messages (`--unlabelled`) added as
                      examples under the answer it ranks first (self_training.py)
The fusion weight, temperature and hand-off threshold are chosen on the same validation
questions; afterwards they join the index as examples (embedded, not trained on).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from featureship.data.readers import Table
from featureship.errors import SettingsError
from featureship.manifest import Candidate, DataInfo, Manifest
from featureship.nn.device import pick_device, use_bf16
from featureship.nn.encoder import TextEncoder, resolve_encoder
from featureship.progress import Reporter
from featureship.tasks.answer_retrieval.calibration import (
    FUSION_WEIGHTS,
    Calibration,
    calibrate,
    precision_coverage,
    probabilities,
    uncalibrated,
)
from featureship.tasks.answer_retrieval.data import (
    KnowledgeBase,
    Questions,
    read_knowledge_base,
    read_questions,
    read_unlabelled,
    split_questions,
)
from featureship.tasks.answer_retrieval.fitted import AnswerRetrievalModel, ranking_metrics
from featureship.tasks.answer_retrieval.knowledge import add_examples
from featureship.tasks.answer_retrieval.retriever import Examples, Retriever
from featureship.tasks.answer_retrieval.self_training import Unlabelled, with_pseudo_labels
from featureship.tasks.answer_retrieval.settings import AnswerRetrievalSettings

ZERO_SHOT_FUSION = 0.1  # no questions to choose it on; a light lexical nudge
# Weights of an answer's example centroid against its nearest example (see retriever.py).
PROTOTYPE_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
HEADLINE = ("accuracy", "recall_at_3", "mrr", "coverage", "answered_precision")
_CURVE_POINTS = 200


@dataclass
class Built:
    name: str
    retriever: Retriever
    metrics: dict[str, Any]
    curve: list[dict[str, float]]
    seconds: float
    details: dict[str, Any]
    valid_embeddings: np.ndarray | None = None
    base: Built | None = None  # a self-trained candidate: the one whose index it grew
    unlabelled: Unlabelled | None = None


def fingerprint(kb: KnowledgeBase, questions: Questions | None) -> str:
    digest = hashlib.sha256()
    for record in kb.records():
        digest.update(repr(sorted(record.items())).encode("utf-8", "replace"))
    if questions is not None:
        for text, answer in zip(questions.texts, questions.answer_ids, strict=True):
            digest.update(text.encode("utf-8", "replace") + b"\x1f" + answer.encode() + b"\x1e")
    return digest.hexdigest()


class AnswerRetrievalTask:
    name: ClassVar[str] = "answer-retrieval"
    settings_class: ClassVar[type] = AnswerRetrievalSettings
    model_class: ClassVar[type] = AnswerRetrievalModel
    # settings that name columns of the training table (the console offers its columns)
    data_columns: ClassVar[tuple[str, ...]] = ("id_column", "answer_column", "title_column")

    def fit(self, data: Table, settings: AnswerRetrievalSettings, progress: Reporter,
            validation: Table | None = None, output: Path | None = None) -> AnswerRetrievalModel:
        started = time.monotonic()
        torch.manual_seed(settings.seed)
        kb = read_knowledge_base(data, settings.id_column, settings.answer_column,
                                 settings.title_column)
        known = set(kb.ids)
        questions = None
        if settings.questions is not None:
            questions = read_questions(settings.questions, settings.question_column,
                                       settings.answer_id_column, known)
        elif settings.question_column or settings.answer_id_column:
            raise SettingsError("--question-column and --answer-id-column describe --questions; "
                                "give --questions F too.")
        notes = list(data.notes) + (questions.notes if questions else [])
        for note in notes:
            progress.note(note)
        if settings.from_bundle:
            return self._from_bundle(kb, questions, settings, progress, data, started, notes)
        if validation is not None:
            valid = read_questions(validation, settings.question_column, settings.answer_id_column,
                                   known)
            train = questions or Questions([], [], np.zeros(0, np.int64))
            valid_desc = validation.name
        elif questions is not None:
            train, valid = split_questions(questions, settings.validation_fraction, settings.seed)
            valid_desc = (f"{settings.validation_fraction:.0%} of each answer's questions (one at "
                          f"least, where it has two or more), seed {settings.seed}")
        else:
            train = valid = Questions([], [], np.zeros(0, np.int64))
            valid_desc = "none: no labelled questions (zero-shot)"
        unlabelled: list[str] = []
        if settings.unlabelled is not None:
            unlabelled, more = read_unlabelled(settings.unlabelled, settings.unlabelled_column,
                                               set(train.texts) | set(valid.texts),
                                               settings.max_unlabelled, settings.seed)
            for note in more:
                progress.note(note)
        elif settings.unlabelled_column:
            raise SettingsError("--unlabelled-column describes --unlabelled; give --unlabelled F too.")
        if settings.mode == "finetune" and not train.texts:
            raise SettingsError("--mode finetune needs labelled questions: give --questions F "
                                "--question-column C --answer-id-column C.")
        index = {a: i for i, a in enumerate(kb.ids)}
        examples = Examples(list(train.texts), np.array([index[a] for a in train.answer_ids],
                                                        dtype=np.int64))
        device = pick_device()
        bf16 = use_bf16(device, settings.precision)
        progress.info(f"{len(kb.ids):,} answers, {len(train.texts):,} training and "
                      f"{len(valid.texts):,} validation questions; device {device.type}")
        truth = np.array([index[a] for a in valid.answer_ids], dtype=np.int64)
        built = self._candidates(kb, examples, train, valid.texts, truth, settings, device, bf16,
                                 progress)
        if unlabelled:
            built += self._self_trained(built, unlabelled, valid.texts, truth, settings, progress)
        pool = {"bm25": ["bm25"], "frozen": ["frozen hybrid"], "finetune": ["finetuned hybrid"]
                }.get(settings.mode, [b.name for b in built])
        # ties (and zero-shot, where nothing is measured) go to the richer model, built later
        chosen = max((b for b in built if _kind_name(b) in pool), key=lambda b: (
            b.metrics.get("accuracy", 0.0), b.metrics.get("mrr", 0.0), built.index(b)))
        progress.info(f"chose '{chosen.name}'" + (
            f" (validation top-1 {chosen.metrics['accuracy']:.4f})" if chosen.metrics else ""))
        grown = chosen.base.retriever if chosen.base is not None else chosen.retriever
        if valid.texts and validation is None:
            # the validation questions have done their job; as examples they help answer others
            add_examples(grown, list(valid.texts), list(valid.answer_ids))
        retriever = grown
        if chosen.base is not None and chosen.unlabelled is not None:
            # label the messages again, now with the validation questions in the index too,
            # and keep the fusion, prototype weight and calibration chosen for this candidate
            retriever = with_pseudo_labels(grown, chosen.unlabelled)
            retriever.fusion_weight = chosen.retriever.fusion_weight
            retriever.prototype_weight = chosen.retriever.prototype_weight
            retriever.calibration = chosen.retriever.calibration
        if chosen.metrics and not retriever.calibration.reached:
            progress.note(f"no hand-off threshold reaches {settings.target_precision:.0%} precision "
                          f"on the {len(valid.texts)} validation questions (taken one standard "
                          "error low, see calibration.py), so every message will be handed off. "
                          "Give more labelled questions, or lower --target-precision.")
        model = AnswerRetrievalModel(settings, retriever, _kind(_kind_name(chosen)),
                                     chosen.name.startswith("finetuned"),
                                     {**chosen.metrics, "curve": _thin(chosen.curve)})
        calibration = retriever.calibration
        metrics = {k: float(chosen.metrics[k]) for k in HEADLINE if k in chosen.metrics}
        model.manifest = Manifest(
            task=self.name, seed=settings.seed, settings=settings.model_dump(),
            input_schema={"type": "text", "question_column": settings.question_column,
                          "example": (valid.texts or train.texts or ["my card has not arrived"])[0]},
            labels=list(kb.ids), metrics=metrics,
            metrics_on=("validation questions: they also chose the candidate, the fusion weight, "
                        "the temperature and the threshold, so the numbers are slightly optimistic"
                        if metrics else "nothing: no labelled questions to measure on (zero-shot); "
                        "the hand-off threshold is an uncalibrated default"),
            model=model.model_spec(), chosen=chosen.name,
            candidates=[Candidate(name=b.name, seconds=round(b.seconds, 2), details=b.details,
                                  validation={k: float(v) for k, v in b.metrics.items()
                                              if isinstance(v, (int, float))}) for b in built],
            training={"seconds_total": round(time.monotonic() - started, 1), "device": device.type,
                      "bf16": bf16, "threshold": calibration.threshold,
                      "target_precision": calibration.target_precision,
                      **chosen.details},
            data=DataInfo(source=str(data.path), fingerprint=fingerprint(kb, questions),
                          train_rows=max(len(train.texts), len(kb.ids)),
                          validation_rows=len(valid.texts), validation=valid_desc,
                          notes=list(progress.notes),
                          extra={"answers": len(kb.ids), "questions": len(train.texts),
                                 "unlabelled_messages": len(unlabelled),
                                 "pseudo_labelled_examples": len(chosen.unlabelled.texts)
                                 if chosen.unlabelled is not None else 0,
                                 "answers_without_questions": len(set(kb.ids) - set(train.answer_ids)),
                                 "validation_questions_added_as_examples":
                                     bool(valid.texts and validation is None)}),
        )
        return model

    # ---- candidates -------------------------------------------------------------------------
    def _candidates(self, kb: KnowledgeBase, examples: Examples, train: Questions,
                    valid_texts: list[str], truth: np.ndarray, settings: AnswerRetrievalSettings,
                    device: torch.device, bf16: bool, progress: Reporter) -> list[Built]:
        built: list[Built] = []
        target = settings.target_precision
        if settings.mode in ("auto", "bm25"):
            t0 = time.monotonic()
            retriever = Retriever(kb, examples, None, None, None, 0.0, uncalibrated(target))
            built.append(self._score("bm25", retriever, valid_texts, truth, None, settings,
                                     time.monotonic() - t0, {}))
        if settings.mode == "bm25":
            return built
        source = resolve_encoder(settings.encoder)
        encoder = TextEncoder(source, device, bf16, settings.max_length)
        if settings.mode in ("auto", "frozen"):
            t0 = time.monotonic()
            built.append(self._dense("frozen hybrid", encoder, kb, examples, valid_texts, truth,
                                     settings, progress, t0, {}))
        tune = settings.mode == "finetune" or (
            settings.mode == "auto" and len(train.texts) >= settings.finetune_min_questions
            and len(valid_texts) > 0)
        if settings.mode == "auto" and not tune and train.texts:
            progress.note(f"fine-tuning skipped: {len(train.texts)} training questions, fewer than "
                          f"--finetune-min-questions {settings.finetune_min_questions}.")
        if tune:
            from featureship.tasks.answer_retrieval.contrastive import finetune_encoder

            t0 = time.monotonic()
            result = finetune_encoder(source, kb, train, settings, device, bf16, progress)
            details = {"finetune_steps": result.steps, "finetune_pairs": result.pairs,
                       "finetune_seconds": round(result.seconds, 1), "finetune_loss": result.loss}
            built.append(self._dense("finetuned hybrid", result.encoder, kb, examples, valid_texts,
                                     truth, settings, progress, t0, details))
        return built

    def _dense(self, name: str, encoder: TextEncoder, kb: KnowledgeBase, examples: Examples,
               valid_texts: list[str], truth: np.ndarray, settings: AnswerRetrievalSettings,
               progress: Reporter, t0: float, details: dict[str, Any]) -> Built:
        texts = [kb.document(i) for i in range(len(kb.ids))] + examples.texts + valid_texts
        with progress.step(f"{name}: embedding answers and questions", total=len(texts)) as step:
            embedded = encoder.embed(texts, settings.batch_size * 2, on_batch=step.advance)
        a, q = len(kb.ids), len(examples.texts)
        retriever = Retriever(kb, examples, encoder, embedded[:a], embedded[a : a + q],
                              ZERO_SHOT_FUSION, uncalibrated(settings.target_precision))
        return self._score(name, retriever, valid_texts, truth, embedded[a + q :], settings,
                           time.monotonic() - t0, details)

    def _self_trained(self, built: list[Built], texts: list[str], valid_texts: list[str],
                      truth: np.ndarray, settings: AnswerRetrievalSettings,
                      progress: Reporter) -> list[Built]:
        """The best hybrid on validation, grown with the unlabelled messages it labels."""
        dense = [b for b in built if b.retriever.encoder is not None and b.metrics]
        if settings.mode == "bm25" or not dense:
            progress.note("--unlabelled not used: self-training needs a dense retriever and "
                          "labelled validation questions to check that it helps.")
            return []
        base = max(dense, key=lambda b: (b.metrics["accuracy"], b.metrics["mrr"]))
        t0 = time.monotonic()
        with progress.step(f"{base.name}: embedding unlabelled messages", total=len(texts)) as step:
            embeddings = base.retriever.encoder.embed(texts, settings.batch_size * 2,
                                                      on_batch=step.advance)
        unlabelled = Unlabelled(texts, embeddings)
        retriever = with_pseudo_labels(base.retriever, unlabelled)
        grown = self._score(f"{base.name} + self-training", retriever, valid_texts, truth,
                            base.valid_embeddings, settings, time.monotonic() - t0,
                            {**base.details, "pseudo_labelled": len(texts)})
        grown.base, grown.unlabelled = base, unlabelled
        return [grown]

    @staticmethod
    def _score(name: str, retriever: Retriever, valid_texts: list[str], truth: np.ndarray,
               valid_embeddings: np.ndarray | None, settings: AnswerRetrievalSettings,
               seconds: float, details: dict[str, Any]) -> Built:
        """Choose the fusion weight and calibrate on validation; zero-shot keeps the defaults."""
        if not valid_texts:
            return Built(name, retriever, {}, [], seconds, details)
        t0 = time.monotonic()
        lexical = retriever.lexical.scores(valid_texts)
        if retriever.encoder is None:
            grid, fused_by = [(0.0, 0.0)], {(0.0, 0.0): lexical}
        else:  # (prototype weight β, fusion weight w), chosen together
            dense = {beta: retriever.dense(valid_embeddings, beta) for beta in PROTOTYPE_WEIGHTS}
            grid = [(beta, w) for beta in PROTOTYPE_WEIGHTS for w in FUSION_WEIGHTS]
            fused_by = {(beta, w): dense[beta] + w * lexical for beta, w in grid}

        def quality(key: tuple[float, float]) -> tuple[float, float]:
            fused = fused_by[key]
            ranks = (fused > fused[np.arange(len(truth)), truth][:, None]).sum(1)
            return float((ranks == 0).mean()), float((1.0 / (ranks + 1)).mean())

        best_beta, best_w = max(grid, key=quality)  # ties: the first, i.e. the smaller β and w
        fused = fused_by[(best_beta, best_w)]
        calibration: Calibration = calibrate(fused, truth, settings.target_precision)
        retriever.fusion_weight, retriever.prototype_weight = best_w, best_beta
        retriever.calibration = calibration
        probs = probabilities(fused, calibration.temperature)
        metrics = ranking_metrics(probs, truth, calibration)
        curve = precision_coverage(probs.max(1), probs.argmax(1) == truth)
        info = {**details, "fusion_weight": best_w, "prototype_weight": best_beta, "temperature": round(calibration.temperature, 5),
                "threshold": calibration.threshold}
        return Built(name, retriever, metrics, curve, seconds + time.monotonic() - t0, info,
                     valid_embeddings)

    # ---- warm start -------------------------------------------------------------------------
    def _from_bundle(self, kb: KnowledgeBase, questions: Questions | None,
                     settings: AnswerRetrievalSettings, progress: Reporter, data: Table,
                     started: float, notes: list[str]) -> AnswerRetrievalModel:
        """Keep a trained bundle's encoder, examples and calibration; take the new knowledge
        base (re-embedding only changed answers) and add any new questions as examples."""
        from featureship.api import load

        previous = load(settings.from_bundle)
        if not isinstance(previous, AnswerRetrievalModel):
            raise SettingsError(f"--from {settings.from_bundle} is a {previous.task} model; give an "
                                "answer-retrieval bundle.")
        report = previous.update_knowledge_base(kb, "replace")
        progress.info(f"knowledge base: {report['added']} added, {report['updated']} changed, "
                      f"{report['removed']} removed; {report['re_embedded']} answer(s) embedded")
        added = 0
        if questions is not None:
            known = set(previous.kb.ids)
            keep = [j for j, a in enumerate(questions.answer_ids) if a in known]
            added = add_examples(previous.retriever, [questions.texts[j] for j in keep],
                                 [questions.answer_ids[j] for j in keep])
            progress.info(f"{added} question(s) added as examples (no training)")
        manifest = previous.describe()
        manifest.settings = {**settings.model_dump(), "mode": manifest.settings.get("mode", "auto")}
        manifest.labels = list(previous.kb.ids)
        manifest.training = {**manifest.training, "from_bundle": str(settings.from_bundle),
                             "knowledge_base_change": report, "examples_added": added,
                             "seconds_total": round(time.monotonic() - started, 1)}
        manifest.data.source = str(data.path)
        manifest.data.fingerprint = fingerprint(kb, questions)
        manifest.data.notes = [*manifest.data.notes, *notes]
        previous.settings = AnswerRetrievalSettings(**manifest.settings)
        previous.manifest = manifest
        return previous


def _kind_name(built: Built) -> str:
    """The candidate a self-trained one grew from, else the candidate itself."""
    return built.base.name if built.base is not None else built.name


def _kind(name: str) -> str:
    return {"bm25": "bm25", "frozen hybrid": "frozen", "finetuned hybrid": "finetuned"}[name]


def _thin(curve: list[dict[str, float]]) -> list[dict[str, float]]:
    if len(curve) <= _CURVE_POINTS:
        return curve
    step = len(curve) / _CURVE_POINTS
    return [curve[int(i * step)] for i in range(_CURVE_POINTS)] + [curve[-1]]
