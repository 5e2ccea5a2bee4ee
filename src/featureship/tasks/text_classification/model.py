"""The trained text classifier: features (embeddings and/or TF-IDF) → linear head → softmax.

Every variant `auto` can pick ends in the same shape, so prediction, saving and loading have
one path: `embedding` (frozen or fine-tuned encoder), `tfidf`, or `hybrid` (both, side by side).
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
from sklearn.feature_extraction.text import TfidfVectorizer

from featureship.artifacts import write_json
from featureship.data.readers import Table
from featureship.endpoints import (
    ClassificationResponse,
    Endpoint,
    Limits,
    TextExplanationResponse,
    text_inputs_request,
)
from featureship.errors import BundleError, FeatureshipError, SettingsError
from featureship.evaluation.classification import classification_metrics
from featureship.evaluation.overlap import overlap_report
from featureship.evaluation.tables import ResultTable, per_class_table
from featureship.manifest import Manifest
from featureship.monitoring.cache import FeatureCache
from featureship.nn.device import pick_device, use_bf16
from featureship.nn.encoder import INFERENCE_BATCH, EncoderSource, TextEncoder, resolve_encoder
from featureship.progress import Reporter
from featureship.tasks.base import DataSource, FittedModel, read_source
from featureship.tasks.text_classification import features as feat
from featureship.tasks.text_classification.data import text_examples
from featureship.tasks.text_classification.settings import TextClassificationSettings

if TYPE_CHECKING:
    from featureship.evaluation.report import Section

WEIGHTS = "weights.safetensors"
VOCABULARY = "tfidf_vocabulary.json"
# Explanations of a few validation texts, computed once at training for report.html.
EXPLANATIONS = "explanations.json"
ENCODER_DIR = "encoder"
ONNX_FILE = "encoder.onnx"  # exported bundles (featureship export): the encoder as a graph
# Tokenizer and config files copied next to fine-tuned weights (never any *.py: no remote code).
_ENCODER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                  "special_tokens_map.json", "sentencepiece.bpe.model", "merges.txt", "vocab.json")


class TextClassifier(FittedModel):
    """A fitted text classifier: features → linear head → softmax over `classes`."""

    task: ClassVar[str] = "text-classification"
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"data", "text"})
    batch_input: ClassVar[str | None] = "table"
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "accuracy"), ("validation", "macro_f1"))

    def __init__(self, settings: TextClassificationSettings, classes: list[str], kind: str,
                 weight: np.ndarray, bias: np.ndarray, encoder: TextEncoder | None = None,
                 finetuned: bool = False, tfidf: TfidfVectorizer | None = None,
                 validation_metrics: dict[str, Any] | None = None,
                 train_hashes: np.ndarray | None = None) -> None:
        self.settings = settings
        self.classes = classes
        self.kind = kind  # "embedding" | "tfidf" | "hybrid"
        self.weight, self.bias = weight, bias  # (C, D), (C,)
        self.encoder = encoder
        self.finetuned = finetuned
        self.tfidf = tfidf
        self.validation_metrics = validation_metrics or {}  # full: per class, confusion matrix
        self.train_hashes = train_hashes  # content hashes of training texts (overlap checks)
        self.report_explanations: list[dict[str, Any]] = []  # validation examples for the report
        self._recent = FeatureCache()  # embeddings of recent predict batches (drift monitor)

    # ----- inference -------------------------------------------------------------------
    def _check_inputs(self, texts: list[Any]) -> list[str]:
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise FeatureshipError(
                f"Inputs must be texts; item(s) {', '.join(map(str, bad[:10]))} are "
                f"{type(texts[bad[0]]).__name__}."
            )
        return texts

    def features(self, texts: list[str], batch_size: int = INFERENCE_BATCH):
        embeddings = None
        if self.kind in ("embedding", "hybrid"):
            embeddings = self.encoder.embed(texts, batch_size)
            self._recent.put(texts, embeddings)
        sparse = self.tfidf.transform(texts) if self.kind in ("tfidf", "hybrid") else None
        return feat.combine(embeddings, sparse)

    @property
    def redacts(self) -> bool:
        """Whether inputs are PII-redacted: trained with --redact-pii, or asked at predict/serve."""
        return bool(self.redact_pii or self.settings.redact_pii)

    def prepare(self, texts: list[str]) -> list[str]:
        """Texts as the model must see them: PII-redacted when `redacts` (see featureship.privacy.pii)."""
        if not self.redacts or not texts:
            return texts
        from featureship.privacy.pii import redact_texts

        return redact_texts(texts)[0]

    def probabilities(self, texts: list[str], prepared: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        x = self.features(texts if prepared else self.prepare(texts))
        logits = np.asarray(x @ self.weight.T) + self.bias  # (N, C)
        return feat.softmax(logits)

    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """`[{"label", "score", "scores": {label: probability}}]`, one per text."""
        texts = self._check_inputs(list(rows))
        probs = self.probabilities(texts)
        results = []
        for row in probs:
            best = int(row.argmax())
            results.append({
                "label": self.classes[best],
                "score": float(row[best]),
                "scores": {lab: float(p) for lab, p in zip(self.classes, row, strict=True)},
            })
        return results

    def drift_features(self, rows: list[Any], outputs: list[dict[str, Any]] | None = None,
                       compute: bool = True) -> np.ndarray | None:
        """Encoder embeddings of `rows`; a TF-IDF-only model has no encoder, so its own class
        probabilities stand in (black-box shift detection, Lipton et al. 2018)."""
        texts = list(rows)
        if self.kind == "tfidf":
            if outputs is not None and len(outputs) == len(texts):
                return np.array([[o["scores"][c] for c in self.classes] for o in outputs], dtype=np.float32)
            return self.probabilities(self._check_inputs(texts)) if compute else None
        cached = self._recent.get(texts)
        if cached is not None or not compute:
            return cached
        return self.encoder.embed(self._check_inputs(texts))

    def input_rows(self, table: Table) -> list[Any]:
        """The texts of the model's text column (empty rows are skipped and noted)."""
        return text_examples(table, self.settings.text_column, None, trained=True).texts

    def predict_cli(self, data: DataSource | None = None, text: list[str] | None = None,
                    **_: Any) -> pd.DataFrame | list[dict[str, Any]]:
        if text:
            return self.predict(text)
        if data is None:
            raise FeatureshipError("Give --data F (a table with the text column) or --text \"...\".")
        return self.predict_table(read_source(data))

    def predict_table(self, table: Table) -> pd.DataFrame:
        """Every input column kept, plus `prediction` and `score`; rows without text left blank."""
        examples = text_examples(table, self.settings.text_column, None, trained=True)
        probs = self.probabilities(examples.texts)
        out = table.frame.copy()
        prediction = pd.Series([None] * len(out), index=out.index, dtype="object")
        score = pd.Series(np.nan, index=out.index)
        prediction.iloc[examples.rows] = [self.classes[i] for i in probs.argmax(1)]
        score.iloc[examples.rows] = probs.max(1)
        # never overwrite a column the user gave: fall back to prefixed names
        names = ["prediction", "score"]
        if any(n in out.columns for n in names):
            names = [f"featureship_{n}" for n in names]
        out[names[0]], out[names[1]] = prediction, score
        return out

    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Metrics on labelled held-out data; labels never seen in training are reported, not scored."""
        data = read_source(data)
        examples = text_examples(data, self.settings.text_column, self.settings.label_column,
                                 trained=True)
        known = set(self.classes)
        keep = [i for i, lab in enumerate(examples.labels) if lab in known]
        notes = list(examples.notes)
        unseen = sorted({lab for lab in examples.labels if lab not in known})
        if unseen:
            notes.append(
                f"{data.name}: {len(examples.labels) - len(keep)} row(s) carry labels the model never "
                f"saw in training and were not scored: {', '.join(unseen[:20])}"
                + (f" (and {len(unseen) - 20} more)" if len(unseen) > 20 else "")
            )
        if not keep:
            raise FeatureshipError(f"{data.name}: no row has a label the model knows; nothing to score.")
        texts = self.prepare([examples.texts[i] for i in keep])  # as the training texts were hashed
        truth = [examples.labels[i] for i in keep]
        predicted = [self.classes[i] for i in self.probabilities(texts, prepared=True).argmax(1)]
        metrics = classification_metrics(truth, predicted, self.classes)
        overlap = overlap_report([text_key(t) for t in texts], self.train_hashes, data.name)
        if "overlap_note" in overlap:
            notes.append(overlap.pop("overlap_note"))
        return {**metrics, **overlap, "unseen_labels": unseen,
                "rows_skipped": len(data.frame) - len(keep), "notes": notes}

    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Why each text got its label: `[{"label", "score", "method", "attributions"}]`.

        `attributions` lists every word in reading order with its contribution to the predicted
        class's centred logit (see `explanations.py`); the weights sum to that score minus its
        value with every word removed.

        >>> model.explain(["I lost my card"])[0]["attributions"][1]
        {'token': 'lost', 'weight': 2.31}
        """
        from featureship.tasks.text_classification.explanations import explain_texts

        return explain_texts(self, self._check_inputs(list(rows)))

    def explain_cli(self, data: DataSource | None = None, text: list[str] | None = None,
                    **_: Any) -> list[dict[str, Any]]:
        if text:
            return [{"text": t, **e} for t, e in zip(text, self.explain(text), strict=True)]
        if data is None:
            raise FeatureshipError("Give --data F (a table with the text column) or --text \"...\".")
        examples = text_examples(read_source(data), self.settings.text_column, None, trained=True)
        explained = self.explain(examples.texts)
        return [{"row": int(r) + 1, "text": t, **e}  # 1-based, as in messages
                for r, t, e in zip(examples.rows, examples.texts, explained, strict=True)]

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        per_class = metrics.get("per_class")
        return [per_class_table(per_class)] if per_class else []

    @classmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        return [Endpoint(
            name="predict", request=text_inputs_request(limits, "TextPredictRequest"),
            response=ClassificationResponse, handler="predict",
            summary="Classify texts: one {label, score, scores} per input, in order.",
            example={"inputs": ["a text", "another text"]}, batch=("inputs", "predictions"), explained_by="explain"),
            Endpoint(
                name="explain", request=text_inputs_request(limits, "TextExplainRequest"),
                response=TextExplanationResponse, handler="explain",
                summary="Why each text got its label: every word with its weight, in reading order.",
                example={"inputs": ["I lost my card"]}, batch=("inputs", "explanations")),
        ]

    def report_sections(self) -> list[Section]:
        from featureship.tasks.text_classification.report import report_sections

        return report_sections(self.validation_metrics, self.describe(), self.report_explanations)

    # ----- bundle ------------------------------------------------------------------------
    def model_spec(self) -> dict[str, Any]:
        """What the manifest's `model` says: the head's kind and the encoder's identity."""
        encoder = None
        if self.encoder is not None:
            encoder = {"name": self.encoder.source.name, "sha256": self.encoder.source.sha256,
                       "revision": self.encoder.source.revision,
                       "finetuned": self.finetuned, "max_length": self.encoder.max_length}
        if encoder is not None and hasattr(self.encoder, "onnx_path"):  # an exported bundle
            encoder.update({"runtime": "onnx", "onnx": f"{ENCODER_DIR}/{ONNX_FILE}",
                            "quantize": self.encoder.quantize, "dim": self.encoder.dim})
        return {"kind": self.kind, "encoder": encoder, "tfidf": self.tfidf is not None}

    def exported(self, fmt: str, quantize: str | None, progress: Reporter) -> TextClassifier:
        """The same head on the encoder as an ONNX graph (written to a temporary folder, which
        `save` copies into the bundle); TF-IDF heads stay numpy."""
        import tempfile

        from featureship.export.onnx_encoder import OnnxTextEncoder, export_encoder

        if fmt != "onnx":
            raise SettingsError(f"--format {fmt}: text classifiers export to onnx only.")
        if self.encoder is None or not hasattr(self.encoder, "model"):
            raise SettingsError(
                f"{self.name} has no PyTorch encoder to export (its head is "
                f"{'TF-IDF only' if self.encoder is None else 'already ONNX'}); serve it as it is.")
        folder = Path(tempfile.mkdtemp(prefix="featureship-export-"))
        with progress.step(f"exporting the encoder to ONNX{' + ' + quantize if quantize else ''}"):
            export_encoder(self.encoder.model, self.encoder.tokenizer, folder / ONNX_FILE, quantize)
        encoder = OnnxTextEncoder(self.encoder.source, folder / ONNX_FILE, self.encoder.tokenizer,
                                  self.encoder.max_length, self.encoder.dim, quantize)
        encoder.config = self.encoder.model.config  # saved beside the tokenizer
        model = TextClassifier(self.settings, self.classes, self.kind, self.weight, self.bias, encoder,
                               self.finetuned, self.tfidf, self.validation_metrics, self.train_hashes)
        model.manifest = self.describe()
        return model

    def save(self, directory: Path) -> None:
        tensors = {"head.weight": torch.from_numpy(self.weight), "head.bias": torch.from_numpy(self.bias)}
        if self.train_hashes is not None:
            tensors["train.hashes"] = torch.from_numpy(self.train_hashes.view(np.int64))
        if self.tfidf is not None:
            vocab, idf = feat.tfidf_arrays(self.tfidf)
            feat.save_vocabulary(directory / VOCABULARY, vocab)
            tensors["tfidf.idf"] = torch.from_numpy(idf)
        if self.encoder is not None and hasattr(self.encoder, "onnx_path"):
            _save_onnx_encoder(self.encoder, directory / ENCODER_DIR)
        elif self.finetuned and self.encoder is not None:
            for name, value in self.encoder.model.state_dict().items():
                tensors[f"encoder.{name}"] = value.detach().to("cpu", torch.float32).contiguous()
            target = directory / ENCODER_DIR
            target.mkdir()
            self.encoder.model.config.to_json_file(target / "config.json")
            self.encoder.tokenizer.save_pretrained(target)
            for extra in target.iterdir():  # keep only plain data files
                if extra.suffix == ".py":
                    extra.unlink()
        save_torch(tensors, str(directory / WEIGHTS))
        write_json(directory / "metrics.json", {"validation": self.validation_metrics})
        if self.report_explanations:
            write_json(directory / EXPLANATIONS, {"validation_examples": self.report_explanations})

    @classmethod
    def load(cls, directory: Path, manifest: Manifest) -> TextClassifier:
        settings = TextClassificationSettings(**manifest.settings)
        spec = manifest.model
        tensors = load_torch(str(directory / WEIGHTS))
        weight, bias = tensors["head.weight"].numpy(), tensors["head.bias"].numpy()
        tfidf = None
        if spec.get("tfidf"):
            tfidf = feat.tfidf_from_arrays(feat.load_vocabulary(directory / VOCABULARY), tensors["tfidf.idf"].numpy())
        encoder = None
        enc = spec.get("encoder")
        if enc:
            device = pick_device()
            bf16 = use_bf16(device, settings.precision)
            if enc.get("runtime") == "onnx":
                encoder = _load_onnx_encoder(directory, enc)
            elif enc.get("finetuned"):
                encoder = _load_finetuned(directory, enc, tensors, device, bf16)
            else:
                source = resolve_encoder(enc["name"], revision=enc.get("revision"))
                if enc.get("sha256") and source.sha256 != enc["sha256"]:
                    raise BundleError(
                        f"{directory}: the encoder '{enc['name']}' found at {source.path} has other "
                        f"weights (sha256 {source.sha256}) than the model was trained with "
                        f"({enc['sha256']}). Install the same encoder or retrain."
                    )
                encoder = TextEncoder(source, device, bf16, int(enc["max_length"]))
        metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8")).get("validation", {})
        hashes = tensors["train.hashes"].numpy().view(np.uint64) if "train.hashes" in tensors else None
        model = cls(settings, list(manifest.labels), spec["kind"], weight, bias, encoder,
                    bool(enc and enc.get("finetuned")), tfidf, metrics, hashes)
        if (directory / EXPLANATIONS).is_file():  # bundles written before explanations have none
            model.report_explanations = json.loads(
                (directory / EXPLANATIONS).read_text(encoding="utf-8"))["validation_examples"]
        return model


def text_key(text: str) -> str:
    """A text's content for overlap checks: case and spacing do not make a new example."""
    return " ".join(text.lower().split())


def _save_onnx_encoder(encoder: Any, target: Path) -> None:
    import shutil

    target.mkdir()
    shutil.copyfile(encoder.onnx_path, target / ONNX_FILE)
    encoder.tokenizer.save_pretrained(target)
    config = getattr(encoder, "config", None)
    if config is not None:
        config.to_json_file(target / "config.json")
    for extra in target.iterdir():  # plain data only: the graph, the tokenizer, the config
        if extra.name not in (*_ENCODER_FILES, ONNX_FILE):
            extra.unlink()


def _load_onnx_encoder(directory: Path, enc: dict) -> Any:
    from transformers import AutoConfig, AutoTokenizer

    from featureship.export.onnx_encoder import OnnxTextEncoder

    folder = directory / ENCODER_DIR
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    source = EncoderSource(enc["name"], str(folder), enc.get("sha256"), enc.get("revision"))
    encoder = OnnxTextEncoder(source, directory / enc["onnx"], tokenizer, int(enc["max_length"]),
                              int(enc["dim"]), enc.get("quantize"))
    if (folder / "config.json").is_file():
        encoder.config = AutoConfig.from_pretrained(folder, local_files_only=True)
    return encoder


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
