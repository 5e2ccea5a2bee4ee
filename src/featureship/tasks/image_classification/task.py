"""Training: read and decode the images, build the candidates the mode asks for (and `auto`
can afford in its time budget), keep the best on validation macro-F1."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from featureship.artifacts import run_folder
from featureship.backends import LOCAL, Backend, Scaling
from featureship.data.images import image_table, open_image
from featureship.data.readers import Table
from featureship.data.splits import stratified_split
from featureship.errors import SettingsError
from featureship.evaluation.classification import classification_metrics
from featureship.manifest import Candidate, DataInfo, Manifest
from featureship.progress import Reporter, silent
from featureship.tasks.image_classification import training as tr
from featureship.tasks.image_classification.data import (
    ImageRows,
    Pixels,
    check_trainable,
    image_rows,
    load_pixels,
    pixels_fingerprint,
)
from featureship.tasks.image_classification.model import ImageClassifier, softmax
from featureship.tasks.image_classification.network import LITE0_NORMALISATION, ClassifierNet, build
from featureship.tasks.image_classification.settings import ImageClassificationSettings

GRID_IMAGES = 24
GRID_THUMB = 64  # thumbnails in the bundle are at most this many pixels a side
_SIZE_PROBE = 64  # images opened to learn the typical size


class ImageClassificationTask:
    name: ClassVar[str] = "image-classification"
    settings_class: ClassVar[type] = ImageClassificationSettings
    model_class: ClassVar[type] = ImageClassifier
    # settings that name columns of the training table (the console offers its columns)
    data_columns: ClassVar[tuple[str, ...]] = ("image_column", "label_column")
    # --backend ray: the networks (the CNN from scratch, the fine-tuned backbone) train
    # data-parallel (Ray Train, DDP); decoding and the frozen-feature head stay on the driver.
    scaling: ClassVar[Scaling] = Scaling("data-parallel network training with Ray Train (DDP)",
                                         "mode", ("scratch", "finetune", "auto"))

    @staticmethod
    def read_data(data: Any) -> Table:
        """A folder of class sub-folders, or a table with image paths relative to it."""
        return image_table(data, labelled=True)

    def fit(self, data: Table, settings: ImageClassificationSettings, progress: Reporter,
            validation: Table | None = None, output: Path | None = None,
            backend: Backend = LOCAL) -> ImageClassifier:
        started = time.monotonic()
        budget = settings.time_budget_minutes * 60
        if backend.is_ray and settings.resume:
            raise SettingsError("--resume with --backend ray: Ray Train resumes restarted workers from "
                                "their last checkpoint itself; run again without --resume.")
        if settings.resume and settings.mode == "head":
            raise SettingsError("--resume continues a network's training; --mode head has nothing to resume.")
        torch.manual_seed(settings.seed)
        data = image_table(data)
        examples = self._rows(data, settings)
        check_trainable(examples.labels, data.name, settings.label_column)
        run = run_folder(output) if output is not None else None
        sizes = _typical_side(examples.values)
        cnn_size = settings.image_size or int(np.clip(sizes, 28, 64))
        # First decode: finds the bad images and whether everything is grayscale.
        first_size = cnn_size if settings.mode in ("scratch", "auto") else self._backbone_size(settings)
        probe = load_pixels(examples, first_size, 3, settings.skip_bad_images, data.name, progress)
        channels = 1 if probe.gray else 3
        if probe.gray:
            probe.pixels = np.ascontiguousarray(probe.pixels[:, :1])
        for name, why in probe.skipped:
            progress.note(f"skipped unreadable image {name}: {why}")
        kept = ImageRows([examples.values[i] for i in _positions(examples, probe)], probe.names,
                         probe.labels, probe.rows)
        labels = sorted(set(probe.labels))
        index = {lab: i for i, lab in enumerate(labels)}
        y = np.array([index[lab] for lab in probe.labels])
        train_idx, valid_idx, valid_desc = self._split(y, settings, data.name, validation)
        cache: dict[int, np.ndarray] = {first_size: probe.pixels}

        def at(size: int) -> np.ndarray:
            if size not in cache:
                again = load_pixels(kept, size, channels, True, data.name, progress)
                cache[size] = again.pixels
            return cache[size]

        def split(size: int) -> tuple[tr.Split, tr.Split]:
            pixels = at(size)
            return tr.Split(pixels[train_idx], y[train_idx]), tr.Split(pixels[valid_idx], y[valid_idx])

        fingerprint = pixels_fingerprint(probe.pixels, probe.labels)
        progress.info(f"{len(train_idx):,} training and {len(valid_idx):,} validation images, "
                      f"{len(labels)} classes, {'grayscale' if channels == 1 else 'colour'}")
        built: dict[str, tuple[ClassifierNet, dict[str, Any], int]] = {}
        scores: list[dict[str, Any]] = []
        training: dict[str, Any] = {}
        remaining = lambda: budget - (time.monotonic() - started)  # noqa: E731
        resume_any = False
        backbone_dir: Path | None = None

        if settings.mode in ("auto", "head", "finetune"):
            size = self._backbone_size(settings)
            net, spec, backbone_dir = self._pretrained(settings, len(labels), size, channels)
            tr_split, va_split = split(size)
            if settings.mode != "auto" or self._features_fit(net, tr_split, va_split, remaining(), progress):
                t0 = time.monotonic()
                x_train = tr.features(net, tr_split.pixels, progress, "train")
                x_valid = tr.features(net, va_split.pixels, progress, "validation")
                tr.fit_head(net, x_train, tr_split.y, len(labels), settings.seed)
                name = f"frozen {spec['backbone']} + linear head"
                head_w, head_b = net.head.weight.detach().numpy(), net.head.bias.detach().numpy()
                probs = softmax(x_valid @ head_w.T + head_b)  # the head on features already computed
                scores.append(self._score(name, net, va_split, labels, time.monotonic() - t0, probs))
                built[name] = (net, spec, size)
                if settings.mode == "finetune" or (settings.mode == "auto" and self._fits(
                        net, tr_split, len(va_split.pixels), settings.finetune_epochs, settings, remaining(),
                        "fine-tuning", progress)):
                    import copy

                    tuned = copy.deepcopy(net)  # LP-FT: start from the fitted head
                    result, info = self._train(tuned, tr_split, va_split, labels, settings, "finetune",
                                               settings.finetune_epochs, settings.finetune_learning_rate,
                                               remaining(), progress, run, fingerprint, backend)
                    resume_any |= result.resumed_from is not None
                    name = f"fine-tuned {spec['backbone']}"
                    scores.append(self._score(name, tuned, va_split, labels, info["seconds"]))
                    built[name] = (tuned, {**spec, "finetuned": True}, size)
                    training["finetune"] = info
        if settings.mode in ("scratch", "auto"):
            tr_split, va_split = split(cnn_size)
            spec = {"arch": "residual-cnn", "backbone": "residual CNN", "image_size": cnn_size,
                    "channels": channels, "normalisation": _data_normalisation(tr_split.pixels),
                    "cnn": {"in_channels": channels, "widths": list(settings.widths), "blocks_per_stage": 1}}
            torch.manual_seed(settings.seed)
            net = build(spec, len(labels))
            if settings.mode == "scratch" or settings.resume or self._fits(
                    net, tr_split, len(va_split.pixels), min(settings.epochs, 5), settings, remaining(),
                    "the CNN from scratch", progress):
                result, info = self._train(net, tr_split, va_split, labels, settings, "scratch", settings.epochs,
                                           settings.learning_rate, max(remaining(), 1.0), progress, run, fingerprint,
                                           backend)
                resume_any |= result.resumed_from is not None
                name = "residual CNN from scratch"
                scores.append(self._score(name, net, va_split, labels, info["seconds"]))
                built[name] = (net, spec, cnn_size)
                training["scratch"] = info
        if not scores:
            raise SettingsError(f"No candidate fits --time-budget-minutes {settings.time_budget_minutes:g}; "
                                "raise it, or pick --mode head or --mode scratch.")
        if settings.resume and not resume_any:
            raise SettingsError(f"--resume: no checkpoint of an interrupted run in "
                                f"{run / 'checkpoints' if run else '(no output folder)'}; start without --resume.")
        pool = {"head": [s for s in scores if s["candidate"].startswith("frozen")],
                "finetune": [s for s in scores if s["candidate"].startswith("fine-tuned")],
                "scratch": [s for s in scores if "scratch" in s["candidate"]]}.get(settings.mode, scores)
        best = max(pool, key=lambda s: (s["macro_f1"], s["accuracy"]))
        net, spec, size = built[best["candidate"]]
        progress.info(f"chose '{best['candidate']}' (validation macro-F1 {best['macro_f1']:.4f})")
        valid_pixels = at(size)[valid_idx]
        probs = best["_probs"]
        metrics = classification_metrics([labels[i] for i in y[valid_idx]],
                                         [labels[i] for i in probs.argmax(1)], labels)
        model = ImageClassifier(settings, labels, {k: v for k, v in spec.items()}, net, metrics,
                                _grid(valid_pixels, y[valid_idx], probs, labels),
                                backbone_dir if spec["arch"] == "hf" else None)
        skipped_rows = len(data.frame) - len(examples.values) + len(probe.skipped)
        model.manifest = Manifest(
            task=self.name, seed=settings.seed, settings=settings.model_dump(),
            input_schema={"image_column": settings.image_column, "type": "image",
                          "image_size": size, "channels": channels},
            labels=labels, metrics={k: metrics[k] for k in ("accuracy", "macro_f1", "weighted_f1")},
            metrics_on="validation split: it also chose the candidate and the epoch, so the numbers "
                       "are slightly optimistic",
            model=model.spec, chosen=best["candidate"],
            candidates=[Candidate(name=s["candidate"], seconds=round(s["seconds"], 2),
                                  validation={"accuracy": s["accuracy"], "macro_f1": s["macro_f1"]})
                        for s in scores],
            training={**training, "seconds_total": round(time.monotonic() - started, 1)},
            data=DataInfo(source=str(data.path), fingerprint=fingerprint, train_rows=len(train_idx),
                          validation_rows=len(valid_idx), validation=valid_desc,
                          notes=[*examples.notes, *(f"skipped unreadable image {n}: {w}" for n, w in probe.skipped[:20])],
                          skipped_rows=skipped_rows,
                          extra={"bad_images_skipped": len(probe.skipped),
                                 "bad_images": [n for n, _ in probe.skipped[:100]]}),
        )
        return model

    # ----- steps ------------------------------------------------------------------------------
    @staticmethod
    def _rows(data: Table, settings: ImageClassificationSettings) -> ImageRows:
        if data.path.is_dir():
            return image_rows(data, "path", "label")
        return image_rows(data, settings.image_column, settings.label_column)

    @staticmethod
    def _backbone_size(settings: ImageClassificationSettings) -> int:
        if settings.image_size:
            return settings.image_size
        if settings.backbone:
            import json

            config = Path(settings.backbone) / "config.json"
            if config.is_file():
                size = json.loads(config.read_text(encoding="utf-8")).get("image_size")
                if isinstance(size, int):
                    return size
        return 224

    @staticmethod
    def _pretrained(settings: ImageClassificationSettings, n_classes: int, size: int, channels: int
                    ) -> tuple[ClassifierNet, dict[str, Any], Path | None]:
        if settings.backbone:
            from featureship.nn.hf_image import load_hf_backbone

            body, normalisation = load_hf_backbone(settings.backbone)
            spec = {"arch": "hf", "backbone": f"{Path(settings.backbone).name} (Hugging Face)",
                    "image_size": size, "channels": channels, "normalisation": normalisation}
            return build(spec, n_classes, backbone=body), spec, Path(settings.backbone)
        from featureship.nn.efficientnet_lite import pretrained_lite0

        spec = {"arch": "efficientnet-lite0", "backbone": "efficientnet-lite0", "image_size": size,
                "channels": channels, "normalisation": LITE0_NORMALISATION}
        return build(spec, n_classes, backbone=pretrained_lite0()), spec, None

    @staticmethod
    def _split(y: np.ndarray, settings: ImageClassificationSettings, source: str,
               validation: Table | None) -> tuple[np.ndarray, np.ndarray, str]:
        if validation is not None:
            raise SettingsError("image-classification cuts its validation split from --data; "
                                "leave --validation out.")
        import pandas as pd

        frame = pd.DataFrame({"y": y})
        train, valid = stratified_split(frame, "y", settings.validation_fraction, settings.seed)
        desc = f"a stratified {settings.validation_fraction:.0%} split of {source}, seed {settings.seed}"
        return train.index.to_numpy(), valid.index.to_numpy(), desc

    @staticmethod
    def _features_fit(net: ClassifierNet, train: tr.Split, valid: tr.Split, remaining: float,
                      progress: Reporter) -> bool:
        sample = train.pixels[:16]
        t0 = time.monotonic()
        tr.features(net, sample, silent(), "timing")
        estimate = (time.monotonic() - t0) / len(sample) * (len(train.pixels) + len(valid.pixels))
        fits = estimate <= 0.5 * remaining
        progress.info(f"backbone features: about {estimate / 60:.1f} min → "
                      + ("computing them" if fits else "skipped (over half the time budget); raise "
                         "--time-budget-minutes or use --mode head"))
        return fits

    @staticmethod
    def _fits(net: ClassifierNet, train: tr.Split, valid_rows: int, epochs: int,
              settings: ImageClassificationSettings, remaining: float, what: str, progress: Reporter) -> bool:
        estimate = epochs * tr.seconds_per_epoch(net, train, valid_rows, settings)
        fits = estimate <= remaining
        progress.info(f"{what}: about {estimate / 60:.1f} min for {epochs} epochs (time left "
                      f"{remaining / 60:.1f} min) → " + ("training it" if fits else
                      "skipped; raise --time-budget-minutes or pick its --mode"))
        return fits

    @staticmethod
    def _train(net: ClassifierNet, train: tr.Split, valid: tr.Split, labels: list[str],
               settings: ImageClassificationSettings, kind: str, epochs: int, lr: float, budget: float,
               progress: Reporter, run: Path | None, fingerprint: str,
               backend: Backend = LOCAL) -> tuple[Any, dict[str, Any]]:
        import json

        t0 = time.monotonic()
        folder = run / "checkpoints" / kind if run is not None else None
        resume = settings.resume and folder is not None and (folder / "last.json").is_file()
        plan = folder / "plan.json" if folder is not None else None
        if resume and plan is not None and plan.is_file():  # the schedule the killed run planned
            epochs = int(json.loads(plan.read_text())["epochs"])
        else:
            # Fit the epochs to the budget up front, so the cosine schedule anneals fully instead
            # of being cut while the rate is still high. The estimate times whole steps and the
            # validation passes (it reads ~15% high on Fashion-MNIST: no margin on top).
            per_epoch = tr.seconds_per_epoch(net, train, len(valid.pixels), settings)
            affordable = max(1, int(0.9 * budget / max(per_epoch, 1e-6)))
            if affordable < epochs:
                progress.note(f"{kind}: {epochs} epochs would take about {epochs * per_epoch / 60:.1f} "
                              f"min; planning {affordable} to fit the time budget "
                              f"({budget / 60:.1f} min left; raise --time-budget-minutes for more)")
                epochs = affordable
            if plan is not None:
                plan.parent.mkdir(parents=True, exist_ok=True)
                plan.write_text(json.dumps({"epochs": epochs}))
        scale: dict[str, Any] = {}
        run_id = tr.run_fingerprint(fingerprint, settings, kind)
        if backend.is_ray:
            result, scale = tr.train_network_on_ray(
                net, train, valid, labels, settings, epochs=epochs, lr=lr, time_budget_s=budget,
                progress=progress, storage=run / "ray" if run is not None else None,
                fingerprint=run_id, backend=backend)
        else:
            result = tr.train_network(net, train, valid, labels, settings, epochs=epochs, lr=lr,
                                      time_budget_s=budget, progress=progress, checkpoint_dir=folder,
                                      fingerprint=run_id, resume=resume)
        info = {**scale, "history": result.history, "best_epoch": result.best_epoch + 1, "stopped": result.stopped,
                "planned_epochs": epochs, "precision": "bf16" if tr.training_precision(settings) else "fp32",
                "resumed_from_epoch": result.resumed_from, "seconds": round(time.monotonic() - t0, 1)}
        progress.info(f"{kind}: {result.stopped}; best epoch {result.best_epoch + 1}")
        return result, info

    @staticmethod
    def _score(name: str, net: ClassifierNet, valid: tr.Split, labels: list[str], seconds: float,
               probs: np.ndarray | None = None) -> dict[str, Any]:
        if probs is None:
            probs = softmax(tr.predict_logits(net, valid.pixels))
        m = classification_metrics([labels[i] for i in valid.y], [labels[i] for i in probs.argmax(1)], labels)
        return {"candidate": name, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                "seconds": seconds, "_probs": probs}


def _positions(examples: ImageRows, decoded: Pixels) -> list[int]:
    where = {int(r): i for i, r in enumerate(examples.rows)}
    return [where[int(r)] for r in decoded.rows]


def _typical_side(values: list[Any]) -> int:
    """Median side of a sample of the images (opening a file reads its header only)."""
    from PIL import Image

    sides = []
    for value in values[:_SIZE_PROBE]:
        try:
            if isinstance(value, np.ndarray):
                sides.append(int(np.median(value.shape[:2])))
            elif isinstance(value, (str, bytes)):
                import io

                with Image.open(io.BytesIO(value) if isinstance(value, bytes) else value) as image:
                    sides.append(int(np.median(image.size)))
            else:
                sides.append(int(np.median(open_image(value).size)))
        except Exception:  # noqa: BLE001  (a bad image is reported by the decoder, with its path)
            continue
    return int(np.median(sides)) if sides else 32


def _data_normalisation(pixels: np.ndarray) -> dict[str, Any]:
    """Per-channel mean and std of the training pixels (in [0, 1]) for the CNN's inputs."""
    scaled = pixels.astype(np.float32) / 255.0
    mean = scaled.mean(axis=(0, 2, 3))
    std = scaled.std(axis=(0, 2, 3)) + 1e-3
    return {"scale": 255.0, "mean": [float(m) for m in mean], "std": [float(s) for s in std]}


def _grid(pixels: np.ndarray, y: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Up to GRID_IMAGES validation images for the report, mistakes first (most confident first)."""
    from PIL import Image

    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y)
    right = np.flatnonzero(pred == y)
    wrong = wrong[np.argsort(-probs[wrong].max(1), kind="stable")]
    order = np.concatenate([wrong, right])[:GRID_IMAGES]
    thumbs = []
    for i in order:
        image = pixels[i]
        if image.shape[-1] > GRID_THUMB:
            mode = "L" if image.shape[0] == 1 else "RGB"
            pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0), mode)
            small = np.asarray(pil.resize((GRID_THUMB, GRID_THUMB), Image.BILINEAR))
            image = small[None] if image.shape[0] == 1 else small.transpose(2, 0, 1)
        thumbs.append(image)
    stacked = np.stack(thumbs).astype(np.uint8) if thumbs else np.zeros((0, 1, 1, 1), np.uint8)
    return {"pixels": stacked, "true": [labels[y[i]] for i in order], "pred": [labels[pred[i]] for i in order],
            "score": [round(float(probs[i].max()), 4) for i in order], "mistakes": int(len(wrong))}
