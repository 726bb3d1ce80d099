"""Against real servers that `.ci/run` starts: PostgreSQL storage, a two-node Ray cluster.

Skipped when the servers are not there, unless HNET_REQUIRE_SERVERS=1 (CI sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
import sqlalchemy

from tests.studies.conftest import REPO
from tests.studies.gpu_packing import check_packed
from tests.studies.test_runner_e2e import kill_and_resume
from tests.studies.test_user_studies import install_user_package

SMOKE = ("synthetic", "--preset", "smoke")


def _server(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        message = f"{variable} is not set (.ci/run starts the server and sets it)"
        if os.environ.get("HNET_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return value


def test_study_on_postgresql(runner):
    url = _server("HNET_TEST_POSTGRES_URL")
    name = f"pg-{uuid.uuid4().hex[:8]}"
    done = runner.run(*SMOKE, "--storage", url, "--study-name", name)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials(name)
    study = optuna.load_study(study_name=name, storage=url)
    assert {t.number: t.state.name for t in study.trials} == dict(
        zip(trials.trial, trials.state, strict=True))
    assert (trials.state == "COMPLETE").sum() == 4
    assert not (runner.results / "optuna.db").exists()
    assert not (runner.results / "optuna.journal").exists()


@pytest.mark.parametrize("gpus,at_once", [(0.25, 4), (0.5, 2)])
def test_fractions_of_a_gpu_pack_trials_on_the_clusters_gpu_node(runner, gpus, at_once):
    """The loopback cluster's second node declares one GPU: trials of a fraction of it (and
    as much of its one CPU) all run there, 1 / fraction at once."""
    address = _server("HNET_TEST_RAY_ADDRESS")
    name = f"gpu-{gpus}-{uuid.uuid4().hex[:6]}"
    command = runner.command(*SMOKE, "--ray-address", address, "--gpus-per-trial", str(gpus),
                             "--cpus-per-trial", str(gpus), "--n-trials", "8", "--study-name",
                             name, "--set", "epochs=4", "--set", "sleep_s=0.5")
    done = subprocess.run(command, env=runner.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    check_packed(runner.trials(name), trials_run=8, at_once=at_once)


def test_more_of_a_gpu_than_any_node_has_is_refused_in_one_line(runner):
    address = _server("HNET_TEST_RAY_ADDRESS")
    command = runner.command(*SMOKE, "--ray-address", address, "--gpus-per-trial", "1.5")
    done = subprocess.run(command, env=runner.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: a trial needs 1 CPUs and 1.5 GPUs; no node of the Ray cluster's 2 has that "
        "many; the largest has 1 and 1"]


def _every_output(folder) -> bytes:
    """Every file under ``folder`` (Parquet parts, report pages and figures, logs), as bytes."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_a_storage_password_is_never_shown(runner):
    """The password of a --storage URL appears in no output, log, Parquet file or report."""
    url = _server("HNET_TEST_POSTGRES_PASSWORD_URL")
    secret = sqlalchemy.engine.make_url(url).password
    name = f"pw-{uuid.uuid4().hex[:8]}"
    done = runner.run(*SMOKE, "--storage", url, "--study-name", name)
    assert done.returncode == 0, done.stdout + done.stderr
    shown_url = "--storage 'postgresql+psycopg://hnet_user:***@"
    assert f"dashboard: python -m studies.dashboard {shown_url}" in done.stdout
    report = subprocess.run(
        [sys.executable, "-m", "analysis.report", name, "--results-dir", str(runner.results),
         "--storage", url], env=runner.env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stdout + report.stderr
    shown = (done.stdout + done.stderr + report.stdout + report.stderr).encode()
    ray_logs = _every_output(Path(runner.env["RAY_TMPDIR"]))
    assert secret.encode() not in shown + _every_output(runner.results) + ray_logs
    assert (runner.results / name / "report" / "index.html").is_file()


def test_killed_driver_resumes_on_postgresql(runner):
    kill_and_resume(runner, "--storage", _server("HNET_TEST_POSTGRES_URL"),
                    name=f"pg-kill-{uuid.uuid4().hex[:8]}")


def test_study_on_a_two_node_ray_cluster(runner):
    address = _server("HNET_TEST_RAY_ADDRESS")
    nodes = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address={address!r}, log_to_driver=False)"
         "; print(sum(n['Alive'] for n in ray.nodes()))"],
        capture_output=True, text=True, timeout=120)
    assert nodes.stdout.strip().splitlines()[-1] == "2", nodes.stderr
    command = runner.command(*SMOKE, "--ray-address", address, "--jobs", "2",
                             "--set", "sleep_s=0.3", "--n-trials", "6")
    done = subprocess.run(command, env=runner.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("synthetic-smoke")
    assert (trials.state == "COMPLETE").sum() == 6
    assert trials.node_id.nunique() == 2  # both nodes ran trials


@pytest.mark.parametrize("study", [str(REPO / "examples" / "chunked_mlp_mnist.py"),
                                   "examples.chunked_mlp_mnist"])
def test_the_readme_example_on_a_two_node_ray_cluster(runner, data_dir, study, tmp_path):
    """The README's own study, as a file and as a module: Ray's runtime_env takes it to the
    workers of both nodes. The driver runs outside the repository (Ray puts the driver's
    folder on its workers' path) and finds the module through PYTHONPATH, which the
    cluster's workers do not have: only the shipped copy can reach them."""
    address = _server("HNET_TEST_RAY_ADDRESS")
    name = f"example-{uuid.uuid4().hex[:6]}"
    command = runner.command(study, "--preset", "smoke", "--ray-address", address, "--jobs", "2",
                             "--study-name", name, "--data-dir", str(data_dir))
    env = {**runner.env, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials(name)
    assert (trials.state == "COMPLETE").sum() == 2
    assert trials.node_id.nunique() == 2
    assert (trials.value_valid_error < 90).all()  # it learned something in 5 steps


def test_an_installed_packages_study_on_a_two_node_ray_cluster(runner, tmp_path):
    """An entry point of a package only the driver has on its path: the cluster's workers get
    the package from Ray's runtime_env."""
    address = _server("HNET_TEST_RAY_ADDRESS")
    runner.env["PYTHONPATH"] = str(install_user_package(tmp_path / "site"))
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    command = runner.command("tiny", "--ray-address", address, "--jobs", "2", "--n-trials", "4",
                             "--study-name", name)
    done = subprocess.run(command, env=runner.env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials(name)
    assert (trials.state == "COMPLETE").sum() == 4
    assert (runner.epochs(name).query("metric == 'shipped'").value == 1.0).all()
