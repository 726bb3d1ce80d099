"""Property: whatever ``--set`` values and flags a user types, the plan stage of every registered
study either plans or raises ConfigError (exit 2, one line), and nothing else."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studies import PRESETS, ConfigError
from studies._runner.registry import load_study, study_names
from studies._runner.search_algorithms import PRUNERS, SAMPLERS
from studies._runner.session import Plan, plan
from studies.run import _parser

WORDS = ["", "none", "nan", "inf", "-inf", "0", "-1", "1e-3", "true", "off", "1,2", "0,", ",",
         "3, 4 ,5", "-0.5", "1e309", "lstm", "ln_hyperlstm", "abc", "2.5"]
TEXT = st.one_of(
    st.sampled_from(WORDS),
    st.integers(-10, 300).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.integers(-3, 40).map(str), max_size=4).map(",".join),
    st.text(alphabet="0123456789.,-e na", max_size=8),
)
NUMBER = st.one_of(st.integers(-3, 8).map(str),
                   st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr))


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """A command line for ``studies.run``: a study, a preset, ``--set`` items and flags."""
    name = draw(st.sampled_from(study_names()))
    spec = load_study(name)
    fields = [f.name for f in dataclasses.fields(spec.presets["smoke"])]
    argv = [name, "--preset", draw(st.sampled_from(PRESETS))]
    for key in draw(st.lists(st.sampled_from(fields), max_size=3)):
        argv += ["--set", f"{key}={draw(TEXT)}"]
    optional = {
        "--jobs": st.integers(-2, 4).map(str),
        "--n-trials": st.integers(-2, 5).map(str),
        "--max-failures": st.integers(-2, 5).map(str),
        "--ray-cpus": st.integers(-1, 4).map(str),
        "--cpus-per-trial": NUMBER,
        "--gpus-per-trial": NUMBER,
        "--seeds": TEXT,
        "--sampler": st.sampled_from(list(SAMPLERS)),
        "--pruner": st.sampled_from(list(PRUNERS)),
        "--objectives": st.one_of(
            st.lists(st.sampled_from([*spec.metrics, "bogus"]), max_size=3).map(",".join)),
        "--data-dir": st.sampled_from(["/nonexistent", "."]),
    }
    for flag in draw(st.lists(st.sampled_from(sorted(optional)), max_size=3, unique=True)):
        argv.append(f"{flag}={draw(optional[flag])}")  # "=": values may start with "-"
    return argv


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=invocations())
def test_plan_either_plans_or_raises_config_error(argv, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    args = _parser().parse_args([*argv, "--results-dir", str(results)])
    try:
        planned = plan(args)
    except ConfigError as err:
        message = str(err)
        assert message and "\n" not in message
        event("refused")
    else:
        assert isinstance(planned, Plan)
        assert planned.jobs is None or planned.jobs >= 1
        event("planned")
    assert list(results.iterdir()) == []  # the plan writes nothing
