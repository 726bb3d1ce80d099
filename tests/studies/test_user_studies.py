"""A researcher's own study, outside the package: from a file, a module or an entry point."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import ray

from studies.run import main
from tests.studies.conftest import REPO

#: A user's study: no torch, so it runs in a second; ``shipped`` says whether the worker
#: imported the copy Ray's runtime_env gave it (a folder under Ray's runtime resources).
TINY = '''
from dataclasses import dataclass
from studies import StudyConfig, StudySpec

@dataclass(frozen=True)
class TinyConfig(StudyConfig):
    offset: float = 0.0

def search_space(trial, config):
    return {"x": trial.suggest_float("x", -1.0, 1.0)}

def run_trial(config, params, seed):
    for epoch in range(1, config.epochs + 1):
        yield {"epoch": epoch, "loss": (params["x"] - config.offset) ** 2 + 1.0 / epoch,
               "shipped": float("runtime_resources" in __file__)}

SPEC = StudySpec(name=NAME, description="a user's tiny study",
                 presets={p: TinyConfig(n_trials=3, epochs=2)
                          for p in ("smoke", "quick", "paper")},
                 search_space=search_space, trial=run_trial,
                 metrics={"loss": "minimize", "shipped": "maximize"}, objectives=("loss",))
'''


def write_study(folder: Path, module: str, name: str = "tiny", body: str = TINY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}.py"
    path.write_text(f"NAME = {name!r}\n" + textwrap.dedent(body))
    return path


def install_user_package(site: Path) -> Path:
    """``userpkg`` with the study ``userpkg.tiny_study``, installed in ``site`` as the
    distribution ``userpkg`` whose entry point ``tiny`` names it; returns ``site``."""
    write_study(site / "userpkg", "tiny_study")
    (site / "userpkg" / "__init__.py").write_text("")
    dist = site / "userpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hnet_studies.studies]\ntiny = userpkg.tiny_study\n")
    return site


def test_a_study_file_outside_the_package_runs_on_ray_and_resumes(runner, tmp_path):
    """The file lies outside the driver's folder: the workers get it from Ray's runtime_env
    (else they could not unpickle its trial function)."""
    path = write_study(tmp_path / "elsewhere", "tiny_study")
    done = runner.run(str(path), "--preset", "smoke")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("tiny-smoke")
    assert (trials.state == "COMPLETE").sum() == 3
    assert (trials.value_loss > 0).all()
    assert (runner.epochs("tiny-smoke").query("metric == 'shipped'").value == 1.0).all()
    stored = runner.load_study("tiny-smoke").user_attrs["source"]
    assert stored == {"kind": "file", "where": str(path.resolve()), "module": "tiny_study"}
    meta = pq.read_schema(next((runner.results / "tiny-smoke" / "trials.parquet").glob("*")))
    assert json.loads(meta.metadata[b"hnet_studies.study"])["source"] == f"file {path}"
    again = runner.run(str(path), "--preset", "smoke")  # the same command: the same study
    assert again.returncode == 0, again.stderr
    assert "tiny-smoke: 3 complete" in again.stdout
    assert len(runner.trials("tiny-smoke")) == 3


def test_a_module_and_an_entry_point_of_an_installed_package(runner, tmp_path):
    """``userpkg.tiny_study`` on PYTHONPATH, and the same module declared as the entry point
    ``tiny`` of a distribution there: both listed, both run."""
    runner.env["PYTHONPATH"] = str(install_user_package(tmp_path / "site"))
    listed = runner.run("--list")
    assert "from: entry point tiny = userpkg.tiny_study (userpkg)" in listed.stdout
    assert "from: shipped studies/synthetic.py" in listed.stdout
    by_module = runner.run("userpkg.tiny_study", "--study-name", "by-module")
    by_entry_point = runner.run("tiny", "--study-name", "by-entry-point")
    for done in (by_module, by_entry_point):
        assert done.returncode == 0, done.stdout + done.stderr
    assert runner.load_study("by-entry-point").user_attrs["source"]["kind"] == "entry point"
    assert (runner.trials("by-module").state == "COMPLETE").sum() == 3


def test_a_stored_study_of_another_module_is_not_resumed(runner, tmp_path):
    first = write_study(tmp_path / "a", "first_study")
    second = write_study(tmp_path / "b", "second_study")
    assert runner.run(str(first), "--preset", "smoke").returncode == 0
    done = runner.run(str(second), "--preset", "smoke")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: study 'tiny-smoke' in the storage ran the study of file {first}, not of file "
        f"{second}; pass --study-name to start a new one"]


BAD_STUDIES = {
    "syntax": ("def broken(:\n", "failed to import (syntax_study.py, line 2): SyntaxError:"),
    "raises": ("import math\nmath.sqrt(-1)\n",
               "failed to import (raises_study.py, line 3): ValueError: math domain error"),
    "nospec": ("SPECS = 1\n", "has no SPEC (a module-level studies.StudySpec)"),
    "notspec": ("SPEC = {'name': 'x'}\n", "SPEC is a dict, not a studies.StudySpec"),
    "contract": (TINY.replace('return {"x"', 'return {"y"'),
                 "study tiny: search_space must return the params it suggested"),
    "twice": (TINY.replace("name=NAME", "name='synthetic'"),
              "study name 'synthetic' is found twice: file "),
}


@pytest.mark.parametrize("kind", BAD_STUDIES)
def test_a_bad_study_file_is_one_line_exit_2_before_ray(kind, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body, message = BAD_STUDIES[kind]
    path = write_study(tmp_path / "user", f"{kind}_study", body=body)
    assert main([str(path), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not ray.is_initialized()
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("argv,message", [
    (["no/such_study.py"], "no/such_study.py: no such file"),
    (["nopkg.no_study"], "no module named 'nopkg.no_study'"),
    (["json"], "module json has no SPEC"),
])
def test_no_such_study_is_one_line_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_the_readme_example_passes_the_contract():
    from studies import check_study
    from studies._runner.importing import import_file, spec_of

    module, _ = import_file(REPO / "examples" / "chunked_mlp_mnist.py")
    check_study(spec_of(module, "the example"))


def test_the_readme_shows_the_example_as_it_is():
    """The README's "Your own study" code is the tested file (its docstring and
    ``from __future__`` line aside)."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Your own study"):]
    code = section[section.index("```python\n") + len("```python\n"):]
    code = code[:code.index("```")]
    example = (REPO / "examples" / "chunked_mlp_mnist.py").read_text()
    assert example.endswith(code[code.index("@dataclass"):])
    imports = {line for line in example.splitlines() if line.startswith(("import", "from"))}
    shown = {line for line in code.splitlines() if line.startswith(("import", "from"))}
    assert shown == imports - {"from __future__ import annotations"}
