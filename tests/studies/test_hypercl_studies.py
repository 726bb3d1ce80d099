"""The continual-learning studies end to end: real Ray, SQLite, Parquet and MNIST."""

from __future__ import annotations

import dataclasses
import math

import optuna
import pandas as pd
import pytest

import analysis
from studies._hypercl import target_size, task_classes
from studies._runner.registry import load_study
from studies.hypercl_ablation import variant_params, variants

SMOKE_PARAMS = {"task_embedding_size": 4, "num_chunks": 2, "chunk_embedding_size": 4,
                "hnet_hidden": "5x5", "beta_output": 0.01, "lr": 1e-3}


@pytest.mark.needs_data
def test_splitmnist_smoke_writes_the_accuracy_matrix(runner, data_dir):
    done = runner.run("hypercl_splitmnist", "--preset", "smoke", "--data-dir", str(data_dir),
                      "--objectives", "final_acc,compression_ratio")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hypercl_splitmnist-smoke")
    assert (trials.state == "COMPLETE").all() and len(trials) == 2
    assert {"value_final_acc", "value_compression_ratio", "final_chunk_size",
            "param_num_chunks", "trainable_params"} <= set(trials.columns)
    matrix = pd.read_parquet(runner.results / "hypercl_splitmnist-smoke" / "acc_matrix.parquet")
    assert list(matrix.columns) == ["study", "trial", "seed", "scenario", "trained_through",
                                    "eval_task", "accuracy"]
    assert (matrix.scenario == 1).all()
    assert len(matrix) == 2 * 3                      # per trial: row 0 (1 entry), row 1 (2)
    assert (matrix.eval_task <= matrix.trained_through).all()
    final = matrix[matrix.trained_through == 1].groupby("trial").accuracy.mean()
    assert (final.values == trials.set_index("trial").loc[final.index, "final_final_acc"]
            ).all()
    epochs = runner.epochs("hypercl_splitmnist-smoke")
    assert not epochs.metric.str.startswith("acc_task_").any()
    loaded = analysis.load("hypercl_splitmnist", runner.results)      # schema version checked
    summary = analysis.metrics.summarize(loaded.acc_matrix)
    assert summary.acc.tolist() == pytest.approx(final.tolist())


@pytest.mark.needs_data
def test_ablation_grid_runs_its_variants(runner, data_dir):
    done = runner.run("hypercl_ablation", "--preset", "smoke", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hypercl_ablation-smoke")
    assert len(trials) == 3 and trials.param_variant.is_unique
    assert set(trials.param_variant) <= set(variants())
    for _, row in trials.iterrows():  # beta_output is the hypernetwork's: NaN for the others
        expected = variant_params(row.param_variant)
        if expected["method"] == "hnet":
            assert row.final_beta_output == expected["beta_output"]
        else:
            assert math.isnan(row.final_beta_output)


def test_variants_cover_the_grid_of_the_issue():
    names = variants()
    assert len(names) == 4 * 2 + 1 + 2
    assert variant_params("hnet-beta0.01-lookahead") == {"method": "hnet", "beta_output": 0.01,
                                                        "lookahead": True}
    assert variant_params("ewc")["method"] == "ewc"


def test_runner_and_analysis_agree_on_the_schema_version():
    from analysis._load import SCHEMA_KEY as READ_KEY
    from studies._runner.results import SCHEMA_KEY, SCHEMA_VERSION

    assert (SCHEMA_VERSION, SCHEMA_KEY) == (analysis.SCHEMA_VERSION, READ_KEY)


@pytest.mark.needs_data
def test_the_ablation_in_the_class_incremental_scenario(runner, data_dir):
    """``--set scenario=3``: the hypernetwork variants infer the task (HNET+ENT, reporting how
    often they infer it right) and the baselines answer among every class seen."""
    done = runner.run("hypercl_ablation", "--preset", "smoke", "--data-dir", str(data_dir),
                      "--set", "scenario=3", "--n-trials", "11", "--set", "iterations=20")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hypercl_ablation-smoke").set_index("param_variant")
    assert (trials.state == "COMPLETE").all() and len(trials) == len(variants())
    hnets = [v for v in variants() if v.startswith("hnet")]
    assert trials.loc[hnets, "final_task_inference_acc"].between(0, 100).all()
    assert trials.loc[["finetune", "ewc"], "final_task_inference_acc"].isna().all()
    # two tasks' classes in one head: fine-tuning forgets the first task's outright
    assert trials.loc["finetune", "final_final_acc"] < 60
    matrix = pd.read_parquet(runner.results / "hypercl_ablation-smoke" / "acc_matrix.parquet")
    assert (matrix.scenario == 3).all()
    assert variant_params("hnet-beta0.1", scenario=3)["method"] == "hnet_ent"


def test_searched_scenario_and_method_map_to_the_method_each_scenario_runs():
    """``hnet`` and ``hnet_ent`` are the hypernetwork without replay in any scenario, HNET+TIR
    with the task given is HNET; the search space suggests both, the grid lists both."""
    spec = load_study("hypercl_splitmnist")
    config = dataclasses.replace(spec.presets["smoke"], scenario_choices=(1, 3),
                                 method_choices=("hnet", "hnet_tir", "ewc"))
    assert {"scenario": [1, 3], "method": ["hnet", "hnet_tir", "ewc"]}.items() <= \
        spec.grid(config).items()
    for scenario, method, runs in [(1, "hnet", "hnet"), (3, "hnet", "hnet_ent"),
                                   (1, "hnet_tir", "hnet"), (3, "hnet_tir", "hnet_tir"),
                                   (3, "ewc", "ewc")]:
        trial = optuna.trial.FixedTrial({**SMOKE_PARAMS, "scenario": scenario,
                                         "method": method})
        params = spec.search_space(trial, config)
        assert (params["scenario"], params["method"]) == (scenario, method)
        _, _, train, _ = spec.trial_configs(config, params, 0)
        assert (train.scenario, train.method) == (scenario, runs)
        assert train.task_inference == (runs != "ewc")   # a baseline's one head: none


def test_digit_groups_set_the_tasks_and_their_heads():
    spec = load_study("hypercl_splitmnist")
    config = dataclasses.replace(spec.presets["smoke"], split_digits=("01234", "56789"))
    assert task_classes(config) == (5, 5)
    *_, data = spec.trial_configs(config, SMOKE_PARAMS, 0)
    assert data["digits"] == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))
    # CL1: a 5-way head per task on 784-20; CL3 (a baseline): one head of all 10 classes
    assert target_size(config) == 784 * 20 + 20 + 2 * (20 * 5 + 5)
    assert target_size(config, "ewc", 3) == 784 * 20 + 20 + 20 * 10 + 10
    uneven = dataclasses.replace(config, split_digits=("012", "3456789"))
    assert task_classes(uneven) == (3, 7)
    assert target_size(uneven) == 784 * 20 + 20 + 2 * (20 * 7 + 7)    # the largest count


@pytest.mark.needs_data
def test_splitmnist_searches_scenario_and_method_over_5way_tasks(runner, data_dir):
    done = runner.run("hypercl_splitmnist", "--preset", "smoke", "--data-dir", str(data_dir),
                      "--set", "split_digits=01234,56789", "--set", "scenario_choices=1,3",
                      "--set", "method_choices=hnet,ewc", "--sampler", "grid", "--pruner", "none",
                      "--n-trials", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hypercl_splitmnist-smoke")
    assert (trials.state == "COMPLETE").all()
    cells = set(zip(trials.param_scenario, trials.param_method, strict=True))
    assert cells == {(1, "hnet"), (1, "ewc"), (3, "hnet"), (3, "ewc")}
    inferred = trials.set_index(["param_scenario", "param_method"]).final_task_inference_acc
    assert not math.isnan(inferred[(3, "hnet")]) and math.isnan(inferred[(3, "ewc")])
    matrix = pd.read_parquet(runner.results / "hypercl_splitmnist-smoke" / "acc_matrix.parquet")
    by_trial = matrix.groupby("trial").scenario.first()
    assert sorted(by_trial.tolist()) == [1, 1, 3, 3]


def test_the_authors_chunk_size_in_cl2_names_the_count_it_gives():
    """PermutedMNIST-10's shared head (CL2) leaves 2,036,010 target weights: the authors'
    chunks of 78000 are 27 there, not the 28 of CL1/CL3. The paper preset moved to CL2 says
    what to set, and with it the trial's hypernetwork has the authors' chunk size."""
    from studies._hypercl.trial import trial_configs
    from studies._runner.config import ConfigError

    paper = load_study("hypercl_pmnist").presets["paper"]
    with pytest.raises(ConfigError, match="gives 27 chunks .* --set num_chunks=27 --set "
                                          "chunk_counts=27"):
        dataclasses.replace(paper, scenario=2, method="hnet_tir", task_inference=True)
    cl2 = dataclasses.replace(paper, scenario=2, method="hnet_tir", task_inference=True,
                              num_chunks=27, chunk_counts=(27,))
    target, hnet, _ = trial_configs(cl2, {}, 0)
    assert target_size(cl2, "hnet_tir") == 2_036_010
    assert hnet.chunk_size == 78000 and math.ceil(2_036_010 / hnet.chunk_size) == 27
