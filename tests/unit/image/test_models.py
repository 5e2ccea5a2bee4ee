"""The networks: pretrained EfficientNet-Lite0, a local Hugging Face backbone, IG saliency."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import featureship
from featureship.errors import BundleError
from featureship.nn import efficientnet_lite
from tests.unit.image.digits import digits_frame, png_bytes, write_digits_folder

TINY = {"image_column": "image", "label_column": "digit", "mode": "scratch", "epochs": 3,
        "widths": [8, 16], "image_size": 16, "flip": False}


def test_efficientnet_lite0_sees_the_sample_photos_with_its_own_normalisation() -> None:
    from sklearn.datasets import load_sample_images

    model = efficientnet_lite.pretrained_lite0()
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    photos = [np.asarray(Image.fromarray(p).resize((224, 224), Image.BILINEAR)) for p in load_sample_images().images]
    x = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        right = model((x - 127) / 128).softmax(-1)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        wrong = model((x / 255 - mean) / std).softmax(-1)
    assert right[1].argmax() == 985  # flower.jpg → ImageNet class 985, "daisy"
    assert right[1].max() > 0.1 > wrong[1].max()  # with ImageNet mean/std it goes flat
    assert right.max(1).values.min() > 0.1  # not flat on either photo


def test_weights_whose_sha256_differs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "efficientnet-lite0.pth"
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(efficientnet_lite, "weights_path", lambda: fake)
    with pytest.raises(BundleError, match="is not the pinned"):
        efficientnet_lite.pretrained_state()


@pytest.fixture(scope="module")
def scratch_model(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("img")
    return featureship.train("image-classification", data=digits_frame(10, classes=3),
                             output=root / "digits", **TINY)


def test_integrated_gradients_are_complete(scratch_model) -> None:
    images = list(digits_frame(1, skip=40, classes=3)["image"])
    explained = scratch_model.explain(images)
    predicted = scratch_model.predict(images)
    assert [e["label"] for e in explained] == [p["label"] for p in predicted]
    for item in explained:
        # completeness: the attributions add up to f(image) - f(black baseline)
        gap = item["score"] - item["baseline_score"]
        assert abs(item["attribution_sum"] - gap) <= 0.02 * max(abs(gap), 0.05)
        assert abs(item["convergence_delta"]) <= 0.02 * max(abs(gap), 0.05)
        png = Image.open(io.BytesIO(base64.b64decode(item["saliency_png_base64"])))
        assert png.format == "PNG" and png.mode == "RGB" and png.size[0] >= 16


def test_the_python_api_takes_paths_bytes_arrays_and_base64(scratch_model, tmp_path: Path) -> None:
    image = digits_frame(1, skip=41, classes=1)["image"][0]
    (tmp_path / "x.png").write_bytes(png_bytes(image))
    encoded = base64.b64encode(png_bytes(image)).decode()
    answers = scratch_model.predict([image, png_bytes(image), str(tmp_path / "x.png"), {"image_base64": encoded}])
    assert len({a["label"] for a in answers}) == 1 and len({round(a["score"], 5) for a in answers}) == 1


def test_report_has_curves_confusion_and_a_grid_mistakes_first(scratch_model) -> None:
    report = (scratch_model.path / "report.html").read_text()
    assert "CNN training curves" in report and "Confusion matrix" in report
    assert "Validation images" in report and report.count("alt='validation image'") >= 6
    grid = scratch_model.grid
    mistakes = grid["mistakes"]
    flags = [t != p for t, p in zip(grid["true"], grid["pred"], strict=True)]
    assert flags == sorted(flags, reverse=True) and sum(flags) == min(mistakes, len(flags))


def _tiny_hf_folder(root: Path) -> Path:
    from transformers import ResNetConfig, ResNetModel

    torch.manual_seed(0)
    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                          layer_type="basic")
    ResNetModel(config).save_pretrained(root)
    return root


def test_a_local_hugging_face_backbone_folder(tmp_path: Path) -> None:
    backbone = _tiny_hf_folder(tmp_path / "tiny-resnet")
    folder = write_digits_folder(tmp_path / "digits", per_class=8)
    model = featureship.train("image-classification", data=folder, output=tmp_path / "m", mode="head",
                              backbone=str(backbone), image_size=32)
    assert model.describe().model["arch"] == "hf" and model.describe().chosen.startswith("frozen tiny-resnet")
    assert (model.path / "backbone" / "config.json").is_file()
    again = featureship.load(model.path)  # architecture from the bundle's config, weights from it
    image = str(folder / "1" / "0.png")
    assert again.predict([image]) == model.predict([image])


def test_explain_cli_reads_a_folder_and_names_each_image(scratch_model, tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "d", per_class=1, skip=50)
    explained = scratch_model.explain_cli(data=folder)
    assert len(explained) == 3 and all(Path(e["path"]).is_file() for e in explained)
    assert {"label", "score", "saliency_png_base64"} <= set(explained[0])
