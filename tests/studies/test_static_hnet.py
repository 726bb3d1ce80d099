"""The static-hypernetwork studies end to end: real Ray, SQLite and Parquet; MNIST for real,
CIFAR-10 from an archive in the official format that the test writes."""

from __future__ import annotations

import pytest

from tests.cifar_archive import write_cifar_archive


@pytest.mark.needs_data
def test_mnist_smoke_study_records_error_and_parameters(runner, data_dir):
    done = runner.run("static_hnet_mnist", "--preset", "smoke", "--sampler", "grid",
                      "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("static_hnet_mnist-smoke").set_index("param_generated")
    assert sorted(trials.index) == [False, True] and (trials.state == "COMPLETE").all()
    assert trials.loc[True, "trainable_params"] == 12910      # 21,210 - 12,544 + 4,244
    assert trials.loc[False, "trainable_params"] == 21210
    assert (trials.value_params == trials.trainable_params).all()
    assert trials.value_test_error_at_best_valid.between(0, 100).all()  # the paper's figure
    assert trials.final_test_error.between(0, 100).all()
    assert trials.loc[True, "param_embedding_size"] == 4
    epochs = runner.epochs("static_hnet_mnist-smoke")
    assert {"error", "loss"} <= set(epochs[epochs.split == "valid"].metric)


def test_cifar10_smoke_study_on_a_written_archive(runner, tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, per_batch=16)
    done = runner.run("static_hnet_cifar10", "--preset", "smoke", "--set", f"archive={archive}",
                      "--set", "valid_size=16")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("static_hnet_cifar10-smoke")
    assert (trials.state == "COMPLETE").all() and len(trials) == 2
    assert trials.trainable_params.notna().all() and trials.param_widen.eq(1).all()
    assert {"value_test_error", "value_params", "final_examples_per_s"} <= set(trials.columns)


def test_cifar10_without_its_data_stops_with_one_line(runner, tmp_path):
    done = runner.run("static_hnet_cifar10", "--preset", "smoke", "--data-dir", str(tmp_path),
                      "--set", f"archive={tmp_path / 'nowhere.tar.gz'}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: archive={tmp_path / 'nowhere.tar.gz'}: no such file or folder"]


def test_the_cifar_config_itself_refuses_a_depth_that_is_not_6n_plus_4():
    from studies import ConfigError
    from studies.static_hnet_cifar10 import StaticHnetCIFARConfig

    with pytest.raises(ConfigError, match=r"depth must be 6n \+ 4"):
        StaticHnetCIFARConfig(depth=12)
