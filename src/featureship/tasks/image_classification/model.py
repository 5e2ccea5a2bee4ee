"""The trained image classifier: pixels → backbone → linear head → softmax over `classes`.

Every candidate `auto` can pick (linear head on a frozen backbone, fine-tuned backbone, CNN
from scratch) is one `ClassifierNet`, so predicting, saving, loading and explaining have one
path. The bundle holds every weight in safetensors and the architecture in the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from featureship.artifacts import write_json
from featureship.data.images import decode_base64, decode_images, image_table
from featureship.endpoints import ClassificationResponse, Endpoint, Limits
from featureship.errors import DataError, FeatureshipError
from featureship.evaluation.classification import classification_metrics
from featureship.evaluation.tables import ResultTable, per_class_table
from featureship.manifest import Manifest
from featureship.tasks.base import DataSource, FittedModel
from featureship.tasks.image_classification import schemas
from featureship.tasks.image_classification.data import image_rows, load_pixels
from featureship.tasks.image_classification.network import HF_CONFIG_DIR, ClassifierNet, build
from featureship.tasks.image_classification.settings import ImageClassificationSettings
from featureship.tasks.image_classification.training import predict_logits

if TYPE_CHECKING:
    from featureship.evaluation.report import Section

WEIGHTS = "weights.safetensors"
GRID_KEY = "report.grid"  # validation thumbnails for the report's image grid


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class ImageClassifier(FittedModel):
    """A fitted image classifier; `spec` (manifest `model`) describes its network."""

    task: ClassVar[str] = "image-classification"
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"data"})
    batch_input: ClassVar[str | None] = "images"
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "accuracy"), ("validation", "macro_f1"))

    def __init__(self, settings: ImageClassificationSettings, classes: list[str], spec: dict[str, Any],
                 net: ClassifierNet, validation_metrics: dict[str, Any] | None = None,
                 grid: dict[str, Any] | None = None, backbone_dir: Path | None = None) -> None:
        self.settings = settings
        self.classes = classes
        self.spec = spec
        self.net = net.eval()
        self.validation_metrics = validation_metrics or {}
        self.grid = grid or {}  # {"pixels": (K, C, S, S) uint8, "true": [...], "pred": [...], "score": [...]}
        self.backbone_dir = backbone_dir  # a Hugging Face backbone's config folder, copied on save

    # ----- inputs -----------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return int(self.spec["image_size"])

    @property
    def channels(self) -> int:
        return int(self.spec["channels"])

    def _input_values(self, rows: list[Any]) -> list[Any]:
        """Request rows ({"image_base64"} objects or dicts) or Python values (path, bytes, array)."""
        values = []
        for i, row in enumerate(rows):
            encoded = row.get("image_base64") if isinstance(row, dict) else getattr(row, "image_base64", None)
            if isinstance(row, dict) and encoded is None:
                raise DataError(f"inputs[{i}] has no 'image_base64' field; send "
                                '{"image_base64": "<base64 of the image file>"}.')
            if encoded is not None:
                if not isinstance(encoded, str):
                    raise DataError(f"inputs[{i}].image_base64 must be a base64 string.")
                values.append(decode_base64(encoded, i))
            elif isinstance(row, (str, Path, bytes, bytearray, np.ndarray)) or hasattr(row, "mode"):
                values.append(str(row) if isinstance(row, Path) else row)
            else:
                raise DataError(f"inputs[{i}] is {type(row).__name__}; give an image path, the image "
                                'file\'s bytes, an array, or {"image_base64": "..."}.')
        return values

    def pixels(self, rows: list[Any]) -> np.ndarray:
        values = self._input_values(list(rows))
        decoded = decode_images(values, self.image_size, self.channels,
                                [f"inputs[{i}]" for i in range(len(values))])
        if decoded.bad:
            name, why = decoded.bad[0]
            raise DataError(f"{name} is not a readable image: {why}. Send a PNG, JPEG or WebP file"
                            + (f" ({len(decoded.bad)} inputs cannot be read)" if len(decoded.bad) > 1 else "") + ".")
        return decoded.pixels

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return softmax(predict_logits(self.net, pixels))

    # ----- inference ----------------------------------------------------------------------
    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """`[{"label", "score", "scores": {label: probability}}]`, one per image, in order."""
        probs = self.probabilities(self.pixels(rows))
        return [{"label": self.classes[int(p.argmax())], "score": float(p.max()),
                 "scores": {lab: float(v) for lab, v in zip(self.classes, p, strict=True)}} for p in probs]

    def predict_cli(self, data: DataSource | None = None, **_: Any) -> pd.DataFrame:
        """A folder (read recursively) → path, prediction, score; a table → its columns + both."""
        if data is None:
            raise FeatureshipError("Give --data: a folder of images or a table with the image column.")
        table = image_table(data, labelled=False)
        column = self.settings.image_column if not Path(str(table.path)).is_dir() else "path"
        examples = image_rows(table, column, None, trained=True)
        decoded = load_pixels(examples, self.image_size, self.channels, skip_bad=True, where=table.name)
        probs = self.probabilities(decoded.pixels)
        out = table.frame.copy()
        names = ["prediction", "score"]
        if any(n in out.columns for n in names):  # never overwrite a user's column
            names = [f"featureship_{n}" for n in names]
        prediction = pd.Series([None] * len(out), index=out.index, dtype="object")
        score = pd.Series(np.nan, index=out.index)
        prediction.iloc[decoded.rows] = [self.classes[i] for i in probs.argmax(1)]
        score.iloc[decoded.rows] = probs.max(1)
        out[names[0]], out[names[1]] = prediction, score
        if decoded.skipped:  # listed on stderr by the CLI's notes; the rows stay, left blank
            out.attrs["notes"] = [f"{len(decoded.skipped)} image(s) could not be read and have no "
                                  f"prediction: " + "; ".join(f"{n}: {w}" for n, w in decoded.skipped[:10])]
        return out

    def batch_listing(self, folder: Path) -> pd.DataFrame:
        """A folder (read recursively) as the rows `predict_frame` takes: absolute image paths
        in the model's image column; images are decoded batch by batch, where they are scored."""
        frame = image_table(folder, labelled=False).frame
        return frame.rename(columns={"path": self.settings.image_column})

    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Accuracy, macro-F1, per class and confusion on labelled held-out images."""
        table = image_table(data, labelled=True)
        is_folder = Path(str(table.path)).is_dir()
        examples = image_rows(table, "path" if is_folder else self.settings.image_column,
                              "label" if is_folder else self.settings.label_column, trained=True)
        decoded = load_pixels(examples, self.image_size, self.channels, skip_bad=True, where=table.name)
        notes = list(examples.notes)
        if decoded.skipped:
            notes.append(f"{table.name}: {len(decoded.skipped)} unreadable image(s) not scored: "
                         + "; ".join(f"{n}: {w}" for n, w in decoded.skipped[:10]))
        known = set(self.classes)
        keep = [i for i, lab in enumerate(decoded.labels) if lab in known]
        unseen = sorted({lab for lab in decoded.labels if lab not in known})
        if unseen:
            notes.append(f"{table.name}: {len(decoded.labels) - len(keep)} image(s) carry labels the "
                         f"model never saw and were not scored: {', '.join(unseen[:20])}")
        if not keep:
            raise DataError(f"{table.name}: no image has a label the model knows "
                            f"({', '.join(self.classes[:10])}); nothing to score.")
        predicted = [self.classes[i] for i in self.probabilities(decoded.pixels[keep]).argmax(1)]
        metrics = classification_metrics([decoded.labels[i] for i in keep], predicted, self.classes)
        return {**metrics, "unseen_labels": unseen, "images_skipped": len(decoded.skipped),
                "rows_skipped": len(table.frame) - len(keep), "notes": notes}

    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Per image: label, score and an integrated-gradients saliency map overlaid (base64 PNG)."""
        from featureship.tasks.image_classification.explain import explain_pixels

        return explain_pixels(self, self.pixels(rows))

    def explain_request(self, inputs: list[Any]) -> dict[str, Any]:
        """The `explain` endpoint: the same body as predict → `{"explanations": [...]}`."""
        return {"explanations": self.explain(inputs)}

    def explain_cli(self, data: DataSource | None = None, **_: Any) -> list[dict[str, Any]]:
        if data is None:
            raise FeatureshipError("Give --data: a folder of images or a table with the image column.")
        table = image_table(data, labelled=False)
        column = "path" if Path(str(table.path)).is_dir() else self.settings.image_column
        examples = image_rows(table, column, None, trained=True)
        decoded = load_pixels(examples, self.image_size, self.channels, skip_bad=False, where=table.name)
        from featureship.tasks.image_classification.explain import explain_pixels

        return [{"path": name, **item} for name, item in
                zip(decoded.names, explain_pixels(self, decoded.pixels), strict=True)]

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        per_class = metrics.get("per_class")
        return [per_class_table(per_class)] if per_class else []

    @classmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        request = schemas.image_inputs_request(limits)
        return [
            Endpoint(name="predict", request=request, response=ClassificationResponse, handler="predict",
                     summary="Classify images (JSON base64 or multipart uploads): one {label, score, "
                     "scores} per image, in order.", example=schemas.EXAMPLE,
                     batch=("inputs", "predictions"), explained_by="explain", uploads=("inputs", "image_base64")),
            Endpoint(name="explain", request=request, response=schemas.ExplainResponse,
                     handler="explain_request",
                     summary="Why each image got its label: an integrated-gradients saliency map "
                     "overlaid on the image, as a base64 PNG.", example=schemas.EXAMPLE,
                     uploads=("inputs", "image_base64")),
        ]

    def report_sections(self) -> list[Section]:
        from featureship.tasks.image_classification.report import report_sections

        return report_sections(self.validation_metrics, self.describe(), self.grid)

    # ----- bundle ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        tensors = {f"net.{k}": v.detach().to("cpu", torch.float32).contiguous()
                   if v.is_floating_point() else v.detach().cpu().contiguous()
                   for k, v in self.net.state_dict().items()}
        grid_meta = {k: v for k, v in self.grid.items() if k != "pixels"}
        if self.grid.get("pixels") is not None and len(self.grid["pixels"]):
            tensors[GRID_KEY] = torch.from_numpy(np.ascontiguousarray(self.grid["pixels"]))
        save_file(tensors, str(directory / WEIGHTS))
        if self.spec["arch"] == "hf":
            target = directory / HF_CONFIG_DIR
            target.mkdir()
            shutil.copy(Path(self.backbone_dir) / "config.json", target / "config.json")
        write_json(directory / "metrics.json", {"validation": self.validation_metrics, "grid": grid_meta})

    @classmethod
    def load(cls, directory: Path, manifest: Manifest) -> ImageClassifier:
        settings = ImageClassificationSettings(**manifest.settings)
        spec = manifest.model
        tensors = load_file(str(directory / WEIGHTS))
        net = build(spec, len(manifest.labels), bundle=directory)
        state = {k.removeprefix("net."): v for k, v in tensors.items() if k.startswith("net.")}
        net.load_state_dict(state, strict=True)
        side = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
        grid = dict(side.get("grid") or {})
        if GRID_KEY in tensors:
            grid["pixels"] = tensors[GRID_KEY].numpy()
        return cls(settings, list(manifest.labels), spec, net, side.get("validation", {}), grid,
                   directory / HF_CONFIG_DIR if spec["arch"] == "hf" else None)
