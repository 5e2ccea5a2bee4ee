"""The bundle on disk: atomic writes, checksums verified on load, refusal messages name the file."""

from __future__ import annotations

import json

import pytest

from featureship.artifacts import read_manifest, write_bundle
from featureship.errors import BundleError
from featureship.manifest import Manifest


def _write(output, payload=b"weights", overwrite=True):
    def files(tmp):
        (tmp / "weights.safetensors").write_bytes(payload)
        (tmp / "metrics.json").write_text("{}")

    write_bundle(output, Manifest(task="text-classification"), files, overwrite=overwrite)
    return output


def test_round_trip_records_checksums(tmp_path):
    out = _write(tmp_path / "model")
    manifest = read_manifest(out)
    assert set(manifest.files) == {"weights.safetensors", "metrics.json"}
    assert manifest.task == "text-classification"
    assert "torch" in manifest.libraries
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_tampered_file_is_refused_by_name(tmp_path):
    out = _write(tmp_path / "model")
    (out / "weights.safetensors").write_bytes(b"evil")
    with pytest.raises(BundleError, match=r"model/weights.safetensors does not match its sha256"):
        read_manifest(out)


def test_missing_file_is_refused_by_name(tmp_path):
    out = _write(tmp_path / "model")
    (out / "metrics.json").unlink()
    with pytest.raises(BundleError, match="incomplete: metrics.json is missing"):
        read_manifest(out)


def test_folder_without_manifest(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(BundleError, match="not a featureship bundle: manifest.json is missing"):
        read_manifest(tmp_path / "x")


def test_manifest_cannot_point_outside(tmp_path):
    out = _write(tmp_path / "model")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["../secret"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="outside the bundle"):
        read_manifest(out)


def test_refuses_to_write_into_a_foreign_folder(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(BundleError, match="non-empty folder that is not a featureship bundle"):
        _write(target)
    assert (target / "cat.jpg").read_bytes() == b"meow"


def test_overwrites_its_own_bundle_atomically(tmp_path):
    out = _write(tmp_path / "model", b"v1")
    _write(out, b"v2")
    assert (out / "weights.safetensors").read_bytes() == b"v2"
    read_manifest(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .old or temp folder left


def test_an_existing_bundle_is_replaced_only_when_asked(tmp_path):
    out = _write(tmp_path / "model", b"v1")
    with pytest.raises(BundleError, match="already holds a model bundle.*--overwrite"):
        _write(out, b"v2", overwrite=False)
    assert (out / "weights.safetensors").read_bytes() == b"v1"


def test_failure_mid_write_leaves_nothing(tmp_path):
    def broken(tmp):
        (tmp / "weights.safetensors").write_bytes(b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path / "model", Manifest(task="t"), broken)
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_manifest_json_does_not_make_a_bundle(tmp_path):
    site = tmp_path / "webapp"
    site.mkdir()
    (site / "manifest.json").write_text('{"name": "my pwa"}')
    (site / "index.html").write_text("<html>")
    with pytest.raises(BundleError, match="not a featureship bundle"):
        _write(site)
    assert (site / "index.html").read_text() == "<html>"


def test_files_added_after_training_are_refused(tmp_path):
    out = _write(tmp_path / "model")
    (out / "added_tokens.json").write_text("{}")
    with pytest.raises(BundleError, match="does not list: added_tokens.json"):
        read_manifest(out)


def test_bundle_written_under_the_old_name_still_loads(tmp_path):
    # Bundles from before the rename carry format "modelship-bundle"; they load, and a new
    # write uses the new marker.
    out = _write(tmp_path / "model")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "featureship-bundle"
    manifest["format"] = "modelship-bundle"
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(out).format == "modelship-bundle"
    rewritten = _write(out)
    assert json.loads((rewritten / "manifest.json").read_text())["format"] == "featureship-bundle"
