"""Settings validation and the default encoder's integrity check."""

from __future__ import annotations

from pathlib import Path

import pytest

from featureship.config import build_settings, load_settings_file
from featureship.errors import FeatureshipError, SettingsError
from featureship.nn import encoder as enc
from featureship.tasks import get_task
from featureship.tasks.text_classification import TextClassificationSettings


def test_unknown_setting_names_the_allowed_ones():
    with pytest.raises(SettingsError, match=r"'text_col' is not a setting of this task \(allowed: .*text_column"):
        build_settings(TextClassificationSettings, {"text_col": "x", "label_column": "y"})


def test_bad_value_names_field_and_value():
    with pytest.raises(SettingsError, match=r"'mode': .*\(got 'fast'\)"):
        build_settings(TextClassificationSettings, {"text_column": "t", "label_column": "l", "mode": "fast"})


def test_settings_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("text_column: text\nlabel_column: intent\nmode: head\n")
    settings = build_settings(TextClassificationSettings, load_settings_file(path))
    assert settings.mode == "head" and settings.seed == 0


def test_unknown_task():
    with pytest.raises(SettingsError, match="Unknown task 'sentiment'. Known tasks: text-classification"):
        get_task("sentiment")


def test_default_encoder_is_the_official_revision():
    source = enc.resolve_encoder(None)
    assert source.sha256 == enc.OFFICIAL_MINILM_SHA256
    assert Path(source.path, "model.safetensors").is_file()


def test_default_encoder_with_other_weights_is_refused(monkeypatch):
    monkeypatch.setattr(enc, "weights_sha256", lambda folder: "0" * 64)
    with pytest.raises(FeatureshipError, match="do not match the official all-MiniLM-L6-v2 revision.*Refusing"):
        enc.resolve_encoder(None)


def test_encoder_folder_must_be_a_model(tmp_path):
    with pytest.raises(SettingsError, match="folder without config.json"):
        enc.resolve_encoder(str(tmp_path))


def test_offline_hub_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SettingsError, match="neither a local model folder nor a hub model that can "
                                            "be fetched in offline mode"):
        enc.resolve_encoder("someone/some-model")


def _tiny_encoder(folder: Path, seed: int) -> None:
    """A tiny random BERT with MiniLM's tokenizer, saved like a hub snapshot."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=37)
    BertModel(config).save_pretrained(folder)
    default = Path(enc.resolve_encoder(None).path)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (default / name).is_file():
            shutil.copy(default / name, folder / name)


def test_a_hub_encoder_is_pinned_to_its_revision_and_weights(tmp_path, monkeypatch):
    import huggingface_hub
    import pandas as pd

    from featureship.api import load, train
    from featureship.errors import BundleError

    snapshot = tmp_path / "hub" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    _tiny_encoder(snapshot, seed=0)
    asked: list[str | None] = []

    def fake_download(repo_id, revision=None, **kwargs):  # the hub, answered from a local folder
        asked.append(revision)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    frame = pd.DataFrame({"text": ["lost my card", "card stolen", "top up failed", "top up broken"] * 3,
                          "label": ["card", "card", "topup", "topup"] * 3})
    model = train("text-classification", data=frame, output=tmp_path / "m", text_column="text",
                  label_column="label", mode="head", encoder="someone/tiny-bert")
    recorded = model.manifest.model["encoder"]
    assert recorded["revision"] == "abc123"
    assert recorded["sha256"] == enc.weights_sha256(snapshot)
    load(tmp_path / "m")
    assert asked[-1] == "abc123"  # loading asks the hub for the recorded commit, not the newest
    _tiny_encoder(snapshot, seed=1)  # the same name and revision now holds other weights
    with pytest.raises(BundleError, match="has other weights.*than the model was trained with"):
        load(tmp_path / "m")


def test_resume_in_head_mode_is_refused(tmp_path):
    import pandas as pd

    from featureship.api import train

    frame = pd.DataFrame({"text": ["a b", "c d", "e f", "g h"], "label": ["x", "x", "y", "y"]})
    with pytest.raises(SettingsError, match="--mode head has nothing to resume"):
        train("text-classification", data=frame, output=tmp_path / "m", text_column="text",
              label_column="label", mode="head", resume=True)


def test_validation_without_known_labels_is_a_data_error(tmp_path):
    import pandas as pd

    from featureship.api import train
    from featureship.errors import DataError

    frame = pd.DataFrame({"text": ["a b", "c d", "e f", "g h"], "label": ["x", "x", "y", "y"]})
    other = pd.DataFrame({"text": ["i j"], "label": ["z"]})
    with pytest.raises(DataError, match="no row has a label that also occurs"):
        train("text-classification", data=frame, validation=other, output=tmp_path / "m",
              text_column="text", label_column="label", mode="head")
