"""Image inputs: folders and tables, bad files listed by path, grayscale/colour mixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import featureship
from featureship.data.images import decode_images, image_table
from featureship.errors import DataError
from featureship.tasks.image_classification.augment import augment
from tests.unit.image.digits import write_digits_folder

TINY = {"mode": "scratch", "epochs": 2, "widths": [8, 16], "image_size": 16, "flip": False}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def test_a_folder_reads_one_class_per_sub_folder(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "digits", per_class=4)
    (folder / "loose.png").write_bytes((folder / "0" / "0.png").read_bytes())
    table = image_table(folder)
    assert sorted(set(table.frame["label"])) == ["0", "1", "2"] and len(table.frame) == 12
    assert any("no class sub-folder" in n for n in table.notes)


def test_a_folder_without_sub_folders_says_how_to_label(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "d", per_class=2) / "0"
    with pytest.raises(DataError, match="own sub-folder"):
        image_table(folder)


def test_a_truncated_image_is_listed_and_stops_the_run_unless_skipped(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "digits", per_class=6)
    bad = folder / "1" / "2.png"
    _truncate(bad)
    (folder / "2" / "junk.png").write_bytes(b"this is not a png")
    with pytest.raises(DataError) as error:
        featureship.train("image-classification", data=folder, output=tmp_path / "m", **TINY)
    assert str(bad.resolve()) in str(error.value) and "junk.png" in str(error.value)
    assert "--skip-bad-images" in str(error.value)
    model = featureship.train("image-classification", data=folder, output=tmp_path / "m",
                              skip_bad_images=True, **TINY)
    data = model.describe().data
    assert data.extra["bad_images_skipped"] == 2 and data.skipped_rows == 2
    assert str(bad.resolve()) in data.extra["bad_images"]
    assert data.train_rows + data.validation_rows == 17  # 19 files, 2 unreadable


def test_a_table_with_relative_paths_and_a_grayscale_colour_mix(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "imgs", per_class=6, colour_every=3)
    files = sorted(folder.rglob("*.*"))
    assert {p.suffix for p in files} == {".png", ".jpg"}
    table = pd.DataFrame({"file": [str(p.relative_to(tmp_path)) for p in files],
                          "kind": [p.parent.name for p in files], "note": "x"})
    table.to_csv(tmp_path / "train.csv", index=False)
    model = featureship.train("image-classification", data=tmp_path / "train.csv", output=tmp_path / "m",
                              image_column="file", label_column="kind", **TINY)
    assert model.describe().input_schema["channels"] == 3  # the tinted JPEGs are colour
    out = model.predict_cli(data=tmp_path / "train.csv")
    assert list(out.columns) == ["file", "kind", "note", "prediction", "score"]
    assert out["prediction"].notna().all() and out["score"].between(0, 1).all()
    metrics = model.evaluate(tmp_path / "train.csv")
    assert 0 <= metrics["accuracy"] <= 1 and "macro_f1" in metrics


def test_predict_reads_a_folder_recursively_labelled_or_not(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "d", per_class=5)
    model = featureship.train("image-classification", data=folder, output=tmp_path / "m", **TINY)
    loose = tmp_path / "unlabelled"
    (loose / "deep").mkdir(parents=True)
    (loose / "a.png").write_bytes((folder / "0" / "0.png").read_bytes())
    (loose / "deep" / "b.png").write_bytes((folder / "1" / "0.png").read_bytes())
    out = model.predict_cli(data=loose)
    assert list(out.columns) == ["path", "prediction", "score"] and len(out) == 2
    assert out["path"].str.endswith("b.png").any()


def test_decode_gray_and_colour_to_the_channels_asked(tmp_path: Path) -> None:
    gray = np.full((10, 12), 200, np.uint8)
    colour = np.zeros((5, 5, 3), np.uint8)
    colour[..., 0] = 255
    one = decode_images([gray, colour], 8, 1)
    three = decode_images([gray, colour], 8, 3)
    assert one.pixels.shape == (2, 1, 8, 8) and three.pixels.shape == (2, 3, 8, 8)
    assert three.gray is False and decode_images([gray], 8, 3).gray is True
    assert three.pixels[1, 0].min() == 255 and three.pixels[1, 1].max() == 0


def test_augment_keeps_the_shape_and_changes_the_pixels() -> None:
    x = torch.rand(4, 1, 16, 16) * 255
    out = augment(x, torch.Generator().manual_seed(0), 0.8, 10.0, True)
    assert out.shape == x.shape and not torch.allclose(out, x)
    same = augment(x, torch.Generator().manual_seed(0), 1.0, 0.0, False)
    assert torch.allclose(same, x, atol=1e-3)  # no crop, no rotation, no flip: identity
