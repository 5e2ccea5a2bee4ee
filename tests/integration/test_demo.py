"""`featureship demo`: the whole main job on the bundled banking77 data, offline."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import featureship
from featureship.cli import app


@pytest.mark.slow
def test_demo_trains_scores_and_leaves_a_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    output = tmp_path / "featureship-demo"
    result = CliRunner().invoke(app, ["demo", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "held-out test" in result.output and "a few predictions" in result.output
    model = featureship.load(output)
    assert len(model.labels) == 77
    assert model.metrics["accuracy"] > 0.85  # frozen MiniLM heads reach ~0.92 here
    assert (output / "report.html").is_file()
