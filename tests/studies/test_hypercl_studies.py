"""The continual-learning studies end to end: real Ray, SQLite, Parquet and MNIST."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import analysis
from studies.hypercl_ablation import variant_params, variants


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
