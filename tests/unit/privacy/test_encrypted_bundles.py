"""Encrypted and signed bundles: the right key loads and predicts identically; no key, a wrong
key, a flipped byte anywhere (manifest included) and an edited file+hash pair are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.errors import BundleError, SettingsError
from featureship.privacy.keys import BundleKey, key_from_env, new_key
from featureship.privacy.sealing import MAGIC, sign_bundle, verify_bundle
from tests.unit.recommendation.conftest import FAST, synthetic_frame

KEY = new_key()
TEXTS = ["my card has not arrived", "I lost my card", "what exchange rate do you use?"]


@pytest.fixture(scope="module")
def encrypted(text_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("enc") / "intent-enc"
    featureship.save(featureship.load(text_bundle), out, key=BundleKey(KEY, env="FS_TEST_KEY"))
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_every_file_but_the_manifest_is_ciphertext(encrypted: Path, text_bundle: Path):
    manifest = json.loads((encrypted / "manifest.json").read_text())
    assert manifest["protection"]["encrypted"] is True
    assert manifest["protection"]["key_env"] == "FS_TEST_KEY"
    assert KEY not in (encrypted / "manifest.json").read_text()
    files = sorted(p for p in encrypted.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert {p.name for p in files} >= {"weights.safetensors", "metrics.json", "report.html"}
    for path in files:
        data = path.read_bytes()
        assert data.startswith(MAGIC)
        assert b"safetensors" not in data and b"<html" not in data.lower() and b"accuracy" not in data
    assert {p.name for p in files} == {p.name for p in text_bundle.rglob("*")
                                       if p.is_file() and p.name != "manifest.json"}


def test_right_key_predicts_identically(encrypted: Path, text_bundle: Path):
    model = featureship.load(encrypted, key=KEY)
    assert model.path == encrypted
    assert model.predict(TEXTS) == featureship.load(text_bundle).predict(TEXTS)


def test_no_key_names_the_variable(encrypted: Path):
    with pytest.raises(BundleError, match=r"encrypted bundle; give its key: --key-env FS_TEST_KEY"):
        featureship.load(encrypted)


def test_wrong_key_is_refused(encrypted: Path):
    with pytest.raises(BundleError, match=r"not the key this bundle was encrypted with .*FS_TEST_KEY"):
        featureship.load(encrypted, key=new_key())
    with pytest.raises(BundleError, match="passphrase"):
        featureship.load(encrypted, key="a long enough passphrase")


def test_flipped_byte_in_a_weight_file(encrypted: Path, tmp_path: Path):
    bundle = _copy(encrypted, tmp_path / "b")
    weights = bundle / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="weights.safetensors does not match its sha256"):
        featureship.load(bundle, key=KEY)
    # the hash edited to match: the manifest's MAC fails
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = hashlib.sha256(bytes(data)).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json fails its authentication"):
        featureship.load(bundle, key=KEY)


def test_flipped_byte_in_the_manifest(encrypted: Path, tmp_path: Path):
    bundle = _copy(encrypted, tmp_path / "b")
    text = (bundle / "manifest.json").read_text()
    label = json.loads(text)["labels"][0]
    (bundle / "manifest.json").write_text(text.replace(f'"{label}"', f'"{label[:-1]}X"', 1))
    with pytest.raises(BundleError, match="manifest.json fails its authentication"):
        featureship.load(bundle, key=KEY)


def test_swapped_files_fail_their_tag(encrypted: Path, tmp_path: Path):
    # metrics.json's ciphertext under another file's name, hashes and MAC "fixed" by an
    # attacker who has no key: still refused, by the MAC; without the MAC step, by the tag.
    from featureship.privacy.sealing import decrypt_bytes

    keys = BundleKey(KEY).derive(json.loads((encrypted / "manifest.json").read_text())["protection"]["kdf"])
    block = json.loads((encrypted / "manifest.json").read_text())["protection"]
    with pytest.raises(BundleError, match="fails its AES-GCM authentication"):
        decrypt_bytes((encrypted / "metrics.json").read_bytes(), "weights.safetensors", block, keys, encrypted)


def test_cli_key_env(encrypted: Path, monkeypatch: pytest.MonkeyPatch):
    runner = CliRunner()
    monkeypatch.setenv("FS_TEST_KEY", KEY)
    ok = runner.invoke(app, ["predict", str(encrypted), "--text", TEXTS[0], "--key-env", "FS_TEST_KEY"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["predictions"][0]["label"]
    missing = runner.invoke(app, ["predict", str(encrypted), "--text", TEXTS[0]])
    assert missing.exit_code == 2 and "--key-env FS_TEST_KEY" in missing.output
    assert "Traceback" not in missing.output
    monkeypatch.delenv("FS_TEST_KEY")
    unset = runner.invoke(app, ["predict", str(encrypted), "--text", TEXTS[0], "--key-env", "FS_TEST_KEY"])
    assert unset.exit_code == 2 and "FS_TEST_KEY is not set" in unset.output
    monkeypatch.setenv("FS_TEST_KEY", new_key())
    wrong = runner.invoke(app, ["verify", str(encrypted), "--key-env", "FS_TEST_KEY"])
    assert wrong.exit_code == 2 and "not the key" in wrong.output


def test_train_encrypted_keeps_no_plaintext_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FS_REC_KEY", "correct horse battery staple")  # a passphrase: scrypt
    out = tmp_path / "rec"
    data = tmp_path / "walks.csv"
    synthetic_frame().to_csv(data, index=False)
    model = featureship.train("recommendation", data=data, output=out, user_column="user",
                              item_column="item", model="itemknn", encrypt_key=key_from_env("FS_REC_KEY"),
                              **{k: v for k, v in FAST.items() if k == "knn_neighbours"})
    assert json.loads((out / "manifest.json").read_text())["protection"]["kdf"]["name"] == "scrypt+hkdf-sha256"
    reloaded = featureship.load(out, key=key_from_env("FS_REC_KEY"))
    assert reloaded.recommend(user="a-user3", k=5) == model.recommend(user="a-user3", k=5)
    run = out.with_name("rec.run")
    assert not [p for p in run.rglob("*") if p.is_file() and p.name != "lock"]
    assert verify_bundle(out, key_from_env("FS_REC_KEY"))["decrypts"] == "ok"


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FS_SHORT", "hunter2")
    with pytest.raises(SettingsError, match="featureship keygen"):
        key_from_env("FS_SHORT")
    with pytest.raises(SettingsError, match="NAME of an environment variable"):
        key_from_env(KEY)


def test_sign_and_verify_catch_a_file_and_hash_edited_together(text_bundle: Path, tmp_path: Path):
    bundle = _copy(text_bundle, tmp_path / "signed")
    key = BundleKey(KEY, env="FS_SIGN")
    assert verify_bundle(bundle)["signed"] is False
    sign_bundle(bundle, key)
    assert verify_bundle(bundle, key)["authenticated"] is True
    assert featureship.load(bundle, key=key).predict(TEXTS) == featureship.load(text_bundle).predict(TEXTS)
    assert featureship.load(bundle).predict(TEXTS)  # without a key: checksums only, as before
    metrics = bundle / "metrics.json"
    metrics.write_text(metrics.read_text().replace("accuracy", "accuracx", 1))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["metrics.json"] = hashlib.sha256(metrics.read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    verify_bundle(bundle)  # checksums alone cannot see it...
    with pytest.raises(BundleError, match="fails its authentication"):
        verify_bundle(bundle, key)  # ...the signature does
    with pytest.raises(BundleError, match="fails its authentication"):
        featureship.load(bundle, key=key)


def test_key_for_an_unsigned_bundle_is_refused(text_bundle: Path):
    with pytest.raises(BundleError, match="neither signed nor encrypted"):
        featureship.load(text_bundle, key=KEY)


def test_cli_sign_verify(text_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bundle = _copy(text_bundle, tmp_path / "signed")
    monkeypatch.setenv("FS_SIGN", KEY)
    runner = CliRunner()
    assert "unsigned" in runner.invoke(app, ["verify", str(bundle)]).output
    signed = runner.invoke(app, ["sign", str(bundle), "--key-env", "FS_SIGN"])
    assert signed.exit_code == 0, signed.output
    checked = runner.invoke(app, ["verify", str(bundle), "--key-env", "FS_SIGN", "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)["authenticated"] is True
    assert KEY not in signed.output + checked.output + (bundle / "manifest.json").read_text()


def test_serve_opens_an_encrypted_bundle_only_with_its_key(encrypted: Path):
    from fastapi.testclient import TestClient

    from featureship.serving.app import ServerSettings, create_app

    key = BundleKey(KEY, env="FS_TEST_KEY")
    settings = ServerSettings(bundle_key=key)
    assert KEY not in repr(settings) and KEY not in repr(key)
    with TestClient(create_app([encrypted], settings)) as client:
        answer = client.post(f"/v1/models/{encrypted.name}/predict", json={"inputs": TEXTS})
        assert answer.status_code == 200
        assert [p["label"] for p in answer.json()["predictions"]] == [
            p["label"] for p in featureship.load(encrypted, key=key).predict(TEXTS)]
    with pytest.raises(BundleError, match="--key-env FS_TEST_KEY"):
        with TestClient(create_app([encrypted])):
            pass
