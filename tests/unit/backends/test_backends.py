"""The backend seam without a cluster: sharding arithmetic, refusals, option checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from featureship.backends import Backend, as_backend, check_backend
from featureship.backends.data_parallel import Shard
from featureship.cli import app
from featureship.errors import SettingsError
from featureship.tasks import get_task

runner = CliRunner()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 32, 33])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_shards_of_a_batch_add_up_to_the_whole_batch(size, world):
    index = list(range(100, 100 + size))
    parts = [Shard(rank, world).part(index) for rank in range(world)]
    kept = [i for rows, weight in parts if weight for i in rows]
    assert kept == index  # every row once, in order, no row twice
    # DDP averages the ranks' gradients: sum(weight_r * |rows_r|) / world must be the batch mean's 1
    assert sum(weight * len(rows) for rows, weight in parts) / world == pytest.approx(1.0)


def test_validation_rows_are_split_without_overlap():
    shards = [Shard(rank, 3).rows(10) for rank in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))


def test_tasks_that_do_not_scale_are_refused_by_name():
    with pytest.raises(SettingsError) as caught:
        check_backend(get_task("recommendation"), None, Backend("ray"))
    message = str(caught.value)
    assert "recommendation does not train on --backend ray" in message
    assert "text-classification (data-parallel fine-tuning" in message


def test_text_head_mode_is_refused_on_ray_with_the_fix():
    task = get_task("text-classification")
    settings = task.settings_class(text_column="text", label_column="category", mode="head")
    with pytest.raises(SettingsError, match="--mode finetune or auto"):
        check_backend(task, settings, Backend("ray"))
    check_backend(task, settings, Backend("local"))  # nothing to refuse locally


def test_image_head_mode_and_tabular_linear_are_refused_on_ray():
    task = get_task("image-classification")
    settings = task.settings_class(mode="head")
    with pytest.raises(SettingsError, match="--mode scratch or finetune or auto"):
        check_backend(task, settings, Backend("ray"))
    check_backend(task, task.settings_class(mode="scratch"), Backend("ray"))
    tabular = get_task("tabular")
    with pytest.raises(SettingsError, match="tabular trains on --backend ray only with --model auto or lightgbm"):
        check_backend(tabular, tabular.settings_class(label_column="y", model="linear"), Backend("ray"))
    check_backend(tabular, tabular.settings_class(label_column="y"), Backend("ray"))


def test_lightgbm_models_from_a_cluster_keep_no_addresses():
    from featureship.tasks.tabular.boosting_ray import without_network

    text = ("tree\nversion=v4\n\nparameters:\n[boosting: gbdt]\n[tree_learner: data]\n[num_machines: 2]\n"
            "[local_listen_port: 44005]\n[machines: 10.0.0.1:44005,10.0.0.2:39325]\n[pre_partition: 1]\n"
            "[num_leaves: 31]\n\nend of parameters\n")
    cleaned = without_network(text)
    assert "10.0.0" not in cleaned and "44005" not in cleaned and "tree_learner" not in cleaned
    assert "[boosting: gbdt]\n[num_leaves: 31]\n" in cleaned


def _two_ranks(rank: int, port: int, out: str) -> None:
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    shard = Shard(rank, 2)
    # rank 0 alone is over its time budget: both must stop (or rank 1 would hang in all-reduce)
    result = {"any": shard.any(rank == 0), "none": shard.any(False), "total": shard.total(rank + 1.0, 10.0),
              "gather": shard.gather(rank * 10)}
    dist.destroy_process_group()
    Path(out, f"{rank}.json").write_text(json.dumps(result))


def test_two_ranks_share_stop_decisions_totals_and_gathers(tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:  # a free loopback port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_two_ranks, args=(port, str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        got = json.loads((tmp_path / f"{rank}.json").read_text())
        assert got == {"any": True, "none": False, "total": [3.0, 20.0], "gather": [0, 10]}
    assert Shard().any(True) is True and Shard().any(False) is False  # one process: the identity


def test_backend_options_are_checked():
    with pytest.raises(SettingsError, match="one of: local, ray"):
        as_backend("spark")
    with pytest.raises(SettingsError, match="apply to --backend ray only"):
        as_backend("local", workers=4)
    with pytest.raises(SettingsError, match="1 or more"):
        as_backend("ray", workers=0)
    assert as_backend("ray", "auto", 3) == Backend("ray", "auto", 3)


def test_cli_predict_on_ray_needs_an_output_folder(text_bundle, tmp_path):
    result = runner.invoke(app, ["predict", str(text_bundle), "--text", "hi", "--backend", "ray"])
    assert result.exit_code == 2
    assert "--backend ray scores files" in result.output


def test_cli_train_refuses_a_task_that_does_not_scale(tmp_path):
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id,rating\n1,2,5\n")
    result = runner.invoke(app, ["train", "recommendation", "--data", str(ratings), "--user-column",
                                 "user_id", "--item-column", "item_id", "--output", str(tmp_path / "m"),
                                 "--backend", "ray"])
    assert result.exit_code == 2, result.output
    assert "recommendation does not train on --backend ray" in result.output
    assert not (tmp_path / "m").exists()
