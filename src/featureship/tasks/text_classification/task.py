"""Training: validate data, build candidates, fine-tune when asked (or when it fits), pick the best."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from featureship.artifacts import run_folder
from featureship.backends import LOCAL, Backend, Scaling
from featureship.data.readers import Table
from featureship.data.splits import stratified_split
from featureship.errors import DataError, SettingsError
from featureship.evaluation.classification import classification_metrics
from featureship.evaluation.overlap import row_hashes
from featureship.manifest import Candidate, DataInfo, Manifest
from featureship.monitoring.profile import build_profile
from featureship.nn.device import pick_device, use_bf16
from featureship.nn.encoder import TextEncoder, resolve_encoder
from featureship.progress import Reporter
from featureship.tasks.text_classification import features as feat
from featureship.tasks.text_classification.data import TextExamples, check_trainable, text_examples
from featureship.tasks.text_classification.model import TextClassifier, text_key
from featureship.tasks.text_classification.settings import TextClassificationSettings

# Regularisation of the logistic-regression heads; unit-norm features want a weak penalty.
HEAD_C = {"embedding": 10.0, "tfidf": 10.0, "hybrid": 10.0}
# A training step (forward + backward + update) costs about this many inference passes.
TRAIN_COST_FACTOR = 3.5
# Weights of the TF-IDF head when blended with a fine-tuned encoder (picked on validation).
FUSION_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5)
# Validation texts explained in report.html: predicted right, and predicted wrong.
REPORT_RIGHT, REPORT_WRONG = 3, 2
# Texts timed to estimate encoding speed when the embeddings came from the cache.
_RATE_SAMPLE = 256


@dataclass
class Split:
    texts: list[str]
    y: np.ndarray  # label indices


def report_examples(model: TextClassifier, valid: Split, predicted: np.ndarray, labels: list[str],
                    progress: Reporter) -> list[dict[str, Any]]:
    """Explanations of a few validation texts for report.html: some right, some wrong."""
    right = [i for i in range(len(valid.texts)) if predicted[i] == valid.y[i]][:REPORT_RIGHT]
    wrong = [i for i in range(len(valid.texts)) if predicted[i] != valid.y[i]][:REPORT_WRONG]
    picked = right + wrong
    if not picked:
        return []
    with progress.step("explaining validation examples for the report", total=None):
        explained = model.explain([valid.texts[i] for i in picked])
    return [{"text": valid.texts[i], "true_label": labels[valid.y[i]], **e}
            for i, e in zip(picked, explained, strict=True)]


def data_fingerprint(texts: list[str], labels: list[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8", "replace") + b"\x1f" + label.encode() + b"\x1e")
    return digest.hexdigest()


class TextClassificationTask:
    name: ClassVar[str] = "text-classification"
    settings_class: ClassVar[type] = TextClassificationSettings
    model_class: ClassVar[type] = TextClassifier
    # settings that name columns of the training table (the console offers its columns)
    data_columns: ClassVar[tuple[str, ...]] = ("text_column", "label_column")
    # --backend ray: the encoder is fine-tuned data-parallel (Ray Train, DDP); the frozen
    # candidates are computed on the driver as locally.
    scaling: ClassVar[Scaling] = Scaling("data-parallel fine-tuning with Ray Train (DDP)",
                                         "mode", ("finetune", "auto"))

    def fit(self, data: Table, settings: TextClassificationSettings, progress: Reporter,
            validation: Table | None = None, output: Path | None = None,
            backend: Backend = LOCAL) -> TextClassifier:
        started = time.monotonic()
        if backend.is_ray and settings.resume:
            raise SettingsError("--resume with --backend ray: Ray Train resumes restarted workers from "
                                "their last checkpoint itself; run again without --resume.")
        if settings.resume and settings.mode == "head":
            raise SettingsError("--resume continues a fine-tuning run; --mode head has nothing to resume.")
        private = settings.dp_epsilon is not None
        if private and (settings.mode == "finetune" or settings.resume):
            raise SettingsError(
                "--dp-epsilon trains the classifier head with DP-SGD on frozen embeddings; fine-tuning "
                "the encoder under differential privacy is not supported. Use --mode head (or auto).")
        torch.manual_seed(settings.seed)
        train_ex, valid_ex, notes, valid_desc = self._examples(data, validation, settings)
        privacy: dict[str, Any] = {}
        if settings.redact_pii:  # before the texts reach the encoder, a cache, TF-IDF or a hash
            train_ex, valid_ex, privacy["pii_redaction"] = self._redact(train_ex, valid_ex, progress)
        skipped = len(data.frame) - len(train_ex.texts) - (len(valid_ex.texts) if validation is None else 0)
        for note in notes:
            progress.note(note)
        labels = sorted(set(train_ex.labels))
        index = {lab: i for i, lab in enumerate(labels)}
        train = Split(train_ex.texts, np.array([index[lab] for lab in train_ex.labels]))
        valid = Split(valid_ex.texts, np.array([index[lab] for lab in valid_ex.labels]))
        fingerprint = data_fingerprint(train_ex.texts, train_ex.labels)
        run = run_folder(output) if output is not None else None
        device = pick_device()
        bf16 = use_bf16(device, settings.precision)
        progress.info(f"{len(train.texts):,} training and {len(valid.texts):,} validation texts, "
                      f"{len(labels)} classes; device {device.type}{' with bf16' if bf16 else ''}")

        encoder = TextEncoder(resolve_encoder(settings.encoder), device, bf16, settings.max_length)
        if private:
            if settings.mode == "auto":
                notes.append("--dp-epsilon: only the embedding head is trained (DP-SGD); the TF-IDF and "
                             "fine-tuned candidates are left out, as their fitting is not private")
            built, candidates, privacy_dp = self._private_head(encoder, train, valid, labels, settings,
                                                               progress, run)
            privacy.update(privacy_dp)
            embed_rate = 0.0
        else:
            built, candidates, embed_rate = self._frozen_candidates(encoder, train, valid, labels,
                                                                    settings, progress, run)
        training: dict[str, Any] = {}
        if not private and (settings.mode == "finetune" or (settings.mode == "auto" and (
            settings.resume or self._finetune_fits(len(train.texts), embed_rate, settings, progress,
                                                   encoder, train.texts)
        ))):
            model, training = self._finetune(built["frozen embedding"], encoder, train, valid, labels,
                                             settings, device, bf16, progress, run, fingerprint, backend)
            t0 = time.monotonic()
            tuned_logits = model.encoder.embed(valid.texts, settings.batch_size) @ model.weight.T + model.bias
            candidates.append(self._score("finetuned encoder", feat.softmax(tuned_logits), valid, labels,
                                          training["seconds"] + time.monotonic() - t0))
            built["finetuned encoder"] = model
            sparse = built.get("tfidf") or self._tfidf_head(train, labels, settings)
            if sparse is not None:
                fused, score = self._fuse(model, tuned_logits, sparse, valid, labels)
                candidates.append(score)
                built[score["candidate"]] = fused
        # head keeps to frozen encoders; finetune to fine-tuned ones; auto takes the best of all.
        pool = {
            "head": [c for c in candidates if not c["candidate"].startswith("finetuned")],
            "finetune": [c for c in candidates if c["candidate"].startswith("finetuned")],
        }.get(settings.mode, candidates)
        best = max(pool, key=lambda c: (c["macro_f1"], c["accuracy"]))
        chosen = built[best["candidate"]]
        progress.info(f"chose '{best['candidate']}' (validation macro-F1 {best['macro_f1']:.4f})")
        metrics = classification_metrics(
            [labels[i] for i in valid.y], [labels[i] for i in best["_pred"]], labels)
        chosen.validation_metrics = metrics
        # every text the run saw, validation included (it chose the candidate and the epoch);
        # under DP none: exact hashes of the training texts would undo the guarantee
        chosen.train_hashes = None if private else row_hashes(
            text_key(t) for t in [*train_ex.texts, *valid_ex.texts])
        if private:
            notes.append("--dp-epsilon: no hashes of the training texts and no data fingerprint are "
                         "stored, so `evaluate` cannot flag overlap with the training data")
            fingerprint = ""
        chosen.report_explanations = report_examples(chosen, valid, best["_pred"], labels, progress)
        chosen.manifest = Manifest(
            task=self.name, seed=settings.seed, settings=settings.model_dump(),
            input_schema={"text_column": settings.text_column, "type": "text"},
            labels=labels,
            metrics={k: metrics[k] for k in ("accuracy", "macro_f1", "weighted_f1")},
            metrics_on="validation split: it also chose the candidate, the epoch and the blend "
                       "weight, so the numbers are slightly optimistic",
            model=chosen.model_spec(), chosen=best["candidate"],
            candidates=[Candidate(name=c["candidate"], seconds=round(c["seconds"], 2),
                                  validation={"accuracy": c["accuracy"], "macro_f1": c["macro_f1"]})
                        for c in candidates],
            privacy=privacy or None,
            training={**training, "seconds_total": round(time.monotonic() - started, 1),
                      "device": device.type, "bf16": bf16},
            data=DataInfo(source=str(data.path), fingerprint=fingerprint, train_rows=len(train.texts),
                          validation_rows=len(valid.texts), validation=valid_desc, notes=notes,
                          skipped_rows=skipped),
        )
        # the drift reference: validation rows, which neither encoder nor head were fitted on
        chosen.reference_profile = build_profile(chosen, valid.texts, train_ex.labels,
                                                 f"the validation split ({valid_desc})",
                                                 settings.seed, progress=progress)
        return chosen

    # ----- steps ----------------------------------------------------------------------------
    @staticmethod
    def _redact(train_ex: TextExamples, valid_ex: TextExamples, progress: Reporter
                ) -> tuple[TextExamples, TextExamples, dict[str, Any]]:
        from featureship.privacy.pii import KINDS, redact_texts

        with progress.step("redacting PII", total=2) as step:
            train_texts, counts = redact_texts(train_ex.texts)
            step.advance()
            valid_texts, valid_counts = redact_texts(valid_ex.texts)
            step.advance()
        total = {kind: counts[kind] + valid_counts[kind] for kind in KINDS}
        found = ", ".join(f"{n} {kind}" for kind, n in total.items() if n) or "nothing"
        progress.info(f"PII redaction: replaced {found}")
        report = {"enabled": True, "counts": total, "placeholders": [f"<{k}>" for k in KINDS],
                  "recogniser": "presidio-analyzer pattern recognisers (featureship.privacy.pii)",
                  "applies_at_inference": True}
        return (dataclasses.replace(train_ex, texts=train_texts),
                dataclasses.replace(valid_ex, texts=valid_texts), report)

    def _private_head(self, encoder: TextEncoder, train: Split, valid: Split, labels: list[str],
                      settings: TextClassificationSettings, progress: Reporter, run: Path | None
                      ) -> tuple[dict[str, TextClassifier], list[dict[str, Any]], dict[str, Any]]:
        """One candidate: a linear head on frozen embeddings, trained with DP-SGD."""
        from featureship.privacy.dp import default_delta, dp_linear_head

        t0 = time.monotonic()
        emb_train, _ = self._embed(encoder, train.texts, "train", run, settings, progress)
        emb_valid, _ = self._embed(encoder, valid.texts, "validation", run, settings, progress)
        delta = settings.dp_delta if settings.dp_delta is not None else default_delta(len(train.texts))
        weight, bias, report = dp_linear_head(
            emb_train, train.y, len(labels), settings.dp_epsilon, delta, settings.dp_max_grad_norm,
            settings.dp_epochs, settings.dp_batch_size, settings.dp_learning_rate, settings.seed, progress)
        probs = feat.softmax(emb_valid @ weight.T + bias)
        progress.info(f"DP-SGD: spent ε = {report['epsilon']:.3f} (target {settings.dp_epsilon:g}), "
                      f"δ = {delta:.2g}, noise multiplier {report['noise_multiplier']:.3f}")
        report["covers"] = (
            f"The classifier head's weights and bias, with respect to adding or removing any one of "
            f"the {len(train.texts)} training texts ((ε, δ)-DP, DP-SGD, example level). The encoder is "
            "pretrained on public data and not trained. Not covered: the validation split "
            f"({len(valid.texts)} texts) - its metrics in the manifest and report are exact, so treat "
            "it as non-private or pass public data as --validation; the label names (every class "
            "seen in training is listed); the row counts; the hyperparameters, which are fixed "
            "defaults, not tuned on the data. No TF-IDF vocabulary, no training-text hashes and no "
            "data fingerprint are stored.")
        model = TextClassifier(settings, labels, "embedding", weight, bias, encoder, False, None)
        name = "frozen embedding (DP-SGD)"
        return ({name: model}, [self._score(name, probs, valid, labels, time.monotonic() - t0)],
                report)

    def _frozen_candidates(self, encoder: TextEncoder, train: Split, valid: Split, labels: list[str],
                           settings: TextClassificationSettings, progress: Reporter, run: Path | None
                           ) -> tuple[dict[str, TextClassifier], list[dict[str, Any]], float]:
        """Linear heads on frozen embeddings, on TF-IDF, and on both; scored on validation."""
        emb_train, rate = self._embed(encoder, train.texts, "train", run, settings, progress)
        emb_valid, _ = self._embed(encoder, valid.texts, "validation", run, settings, progress)
        # fine-tuning only needs the probe on embeddings (its head's starting point)
        kinds = ["embedding"] if settings.mode == "finetune" else ["embedding", "tfidf", "hybrid"]
        tfidf = feat.fit_tfidf(train.texts) if "tfidf" in kinds else None
        if tfidf is None:  # no word occurs in the texts (emoji, symbols): embeddings only
            kinds = ["embedding"]
        built, candidates = {}, []
        for kind in kinds:
            t0 = time.monotonic()
            x_train = self._features(kind, emb_train, tfidf, train.texts)
            x_valid = self._features(kind, emb_valid, tfidf, valid.texts)
            weight, bias = feat.fit_linear_head(x_train, train.y, len(labels), HEAD_C[kind], settings.seed)
            probs = feat.softmax(np.asarray(x_valid @ weight.T) + bias)
            name = "tfidf" if kind == "tfidf" else f"frozen {kind}"
            built[name] = TextClassifier(settings, labels, kind, weight, bias,
                                         encoder if kind != "tfidf" else None, False,
                                         tfidf if kind != "embedding" else None)
            candidates.append(self._score(name, probs, valid, labels, time.monotonic() - t0))
        return built, candidates, rate

    def _examples(self, data: Table, validation: Table | None, settings: TextClassificationSettings
                  ) -> tuple[TextExamples, TextExamples, list[str], str]:
        train_ex = text_examples(data, settings.text_column, settings.label_column)
        check_trainable(train_ex, data.name, settings.label_column)
        notes = list(train_ex.notes)
        if validation is None:
            import pandas as pd

            frame = pd.DataFrame({"text": train_ex.texts, "label": train_ex.labels})
            tr, va = stratified_split(frame, "label", settings.validation_fraction, settings.seed)
            desc = f"a stratified {settings.validation_fraction:.0%} split of {data.name}, seed {settings.seed}"
            return (TextExamples(tr["text"].tolist(), tr["label"].tolist(), train_ex.rows[tr.index]),
                    TextExamples(va["text"].tolist(), va["label"].tolist(), train_ex.rows[va.index]),
                    notes, desc)
        valid_ex = text_examples(validation, settings.text_column, settings.label_column)
        notes += valid_ex.notes
        known = set(train_ex.labels)
        unseen = sorted({lab for lab in valid_ex.labels if lab not in known})
        if unseen:
            keep = [i for i, lab in enumerate(valid_ex.labels) if lab in known]
            notes.append(f"{validation.name}: {len(valid_ex.labels) - len(keep)} validation row(s) have "
                         f"labels absent from training and are not scored: {', '.join(unseen[:20])}")
            valid_ex = TextExamples([valid_ex.texts[i] for i in keep], [valid_ex.labels[i] for i in keep],
                                    valid_ex.rows[keep])
        if not valid_ex.texts:
            raise DataError(
                f"--validation {validation.name}: no row has a label that also occurs in {data.name} "
                f"(validation labels: {', '.join(unseen[:10])}). Check that both files use the same "
                "label column and names."
            )
        return train_ex, valid_ex, notes, validation.name

    def _embed(self, encoder: TextEncoder, texts: list[str], what: str, run: Path | None,
               settings: TextClassificationSettings, progress: Reporter) -> tuple[np.ndarray, float]:
        """Frozen embeddings, computed once and cached in the run folder (keyed by texts + encoder)."""
        key = hashlib.sha256(
            f"{encoder.source.name}|{encoder.source.sha256}|{settings.max_length}|{encoder.bf16}".encode()
            + "\x1e".join(texts).encode("utf-8", "replace")).hexdigest()[:24]
        cache = run / "cache" / f"embeddings-{key}.safetensors" if run is not None else None
        if cache is not None and cache.is_file():
            try:
                embeddings = load_file(str(cache))["embeddings"]
                progress.info(f"{what} embeddings: loaded from cache {cache}")
                return embeddings, 0.0
            except Exception:  # a damaged cache is only a cache: recompute it
                cache.unlink(missing_ok=True)
        t0 = time.monotonic()
        with progress.step(f"embedding {what} texts", total=len(texts)) as step:
            embeddings = encoder.embed(texts, settings.batch_size, on_batch=step.advance)
        rate = len(texts) / max(time.monotonic() - t0, 1e-6)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(".partial")
            save_file({"embeddings": embeddings}, str(partial))
            partial.replace(cache)  # atomic: an interrupted write never looks like a cache hit
        return embeddings, rate

    @staticmethod
    def _features(kind: str, embeddings: np.ndarray, tfidf, texts: list[str]):
        return feat.combine(embeddings if kind != "tfidf" else None,
                            tfidf.transform(texts) if kind != "embedding" else None)

    @staticmethod
    def _score(name: str, probs: np.ndarray, valid: Split, labels: list[str], seconds: float) -> dict[str, Any]:
        pred = probs.argmax(1)
        m = classification_metrics([labels[i] for i in valid.y], [labels[i] for i in pred], labels)
        return {"candidate": name, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                "seconds": seconds, "_pred": pred}

    @staticmethod
    def _tfidf_head(train: Split, labels: list[str], settings: TextClassificationSettings
                    ) -> TextClassifier | None:
        tfidf = feat.fit_tfidf(train.texts)
        if tfidf is None:
            return None
        weight, bias = feat.fit_linear_head(tfidf.transform(train.texts), train.y, len(labels),
                                            HEAD_C["tfidf"], settings.seed)
        return TextClassifier(settings, labels, "tfidf", weight, bias, None, False, tfidf)

    def _fuse(self, tuned: TextClassifier, tuned_logits: np.ndarray, sparse: TextClassifier,
              valid: Split, labels: list[str]) -> tuple[TextClassifier, dict[str, Any]]:
        """Blend the fine-tuned head with the TF-IDF head: logits (1-w)·z_tuned + w·z_tfidf.

        That is one linear head over [embedding, tfidf] features, i.e. a `hybrid` model, so it
        serves through the same path. w is picked on validation from a coarse grid.
        """
        t0 = time.monotonic()
        sparse_logits = np.asarray(sparse.tfidf.transform(valid.texts) @ sparse.weight.T) + sparse.bias
        scored = []
        for w in FUSION_WEIGHTS:
            score = self._score(f"finetuned + tfidf (w={w})",
                                feat.softmax((1 - w) * tuned_logits + w * sparse_logits), valid, labels, 0.0)
            scored.append((score["macro_f1"], score["accuracy"], w, score))
        *_, w, best = max(scored, key=lambda s: s[:2])
        best["seconds"] = time.monotonic() - t0
        weight = np.hstack([(1 - w) * tuned.weight, w * sparse.weight]).astype(np.float32)
        bias = ((1 - w) * tuned.bias + w * np.maximum(sparse.bias, -50.0)).astype(np.float32)
        fused = TextClassifier(tuned.settings, labels, "hybrid", weight, bias, tuned.encoder, True, sparse.tfidf)
        return fused, best

    @staticmethod
    def _finetune_fits(n_train: int, embed_rate: float, settings: TextClassificationSettings,
                       progress: Reporter, encoder: TextEncoder, texts: list[str]) -> bool:
        if embed_rate <= 0:  # embeddings came from the cache: time a sample so reruns agree
            sample = texts[:_RATE_SAMPLE]
            t0 = time.monotonic()
            encoder.embed(sample, settings.batch_size)
            embed_rate = len(sample) / max(time.monotonic() - t0, 1e-6)
        estimate = settings.epochs * n_train * TRAIN_COST_FACTOR / embed_rate
        fits = estimate <= settings.time_budget_minutes * 60
        progress.info(
            f"fine-tuning estimate: {estimate / 60:.1f} min for {settings.epochs} epochs "
            f"(budget {settings.time_budget_minutes:.0f} min) → "
            + ("fine-tuning as a candidate" if fits else "skipped; raise --time-budget-minutes or use --mode finetune"))
        return fits

    def _finetune(self, probe: TextClassifier, encoder: TextEncoder, train: Split, valid: Split,
                  labels: list[str], settings: TextClassificationSettings, device: torch.device,
                  bf16: bool, progress: Reporter, run: Path | None, fingerprint: str,
                  backend: Backend = LOCAL) -> tuple[TextClassifier, dict[str, Any]]:
        import copy

        from featureship.tasks.text_classification.finetune import (
            EncoderClassifier,
            finetune,
            finetune_on_ray,
        )

        t0 = time.monotonic()
        net = EncoderClassifier(copy.deepcopy(encoder.model), len(labels))
        with torch.no_grad():  # LP-FT: start from the linear probe, not a random head
            net.head.weight.copy_(torch.from_numpy(probe.weight))
            net.head.bias.copy_(torch.from_numpy(np.maximum(probe.bias, -50.0)))
        scale: dict[str, Any] = {}
        if backend.is_ray:
            result, scale = finetune_on_ray(net, encoder.tokenizer, train.texts, train.y, valid.texts,
                                            valid.y, labels, settings, bf16, progress,
                                            run / "ray" if run is not None else None, fingerprint, backend)
        else:
            result = finetune(net, encoder.tokenizer, train.texts, train.y, valid.texts, valid.y, labels,
                              settings, device, bf16, progress,
                              run / "checkpoints" if run is not None else None, fingerprint)
        tuned = TextEncoder(encoder.source, device, bf16, settings.max_length,
                            parts=(encoder.tokenizer, net.encoder))
        model = TextClassifier(settings, labels, "embedding",
                               net.head.weight.detach().float().cpu().numpy(),
                               net.head.bias.detach().float().cpu().numpy(), tuned, True, None)
        info = {"history": result.history, "best_epoch": result.best_epoch + 1, "stopped": result.stopped,
                "resumed_from_epoch": result.resumed_from, "seconds": time.monotonic() - t0, **scale}
        progress.info(f"fine-tuning: {result.stopped}; best epoch {result.best_epoch + 1}")
        return model, info
