"""The driver: Optuna decides, Ray runs, the driver alone writes the storage and the Parquet files.

``study.optimize`` runs with ``n_jobs`` = concurrent trial slots. Each slot's objective samples
the parameters, starts each seed on a worker of the driver's pool of Ray actors
(:class:`~studies._runner.ray_backend.SeedWorkers`), and reads their per-epoch metrics in
lockstep: it reports the seed mean to Optuna, asks the pruner, and stops the seeds when pruned.
A raised
exception, a dead worker or a non-finite objective becomes a FAIL trial with its error text; the
study stops once more trials than ``max_failures`` have failed in this run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import optuna
import ray

from studies._runner import ray_backend
from studies._runner.checkpoints import NOTE_KEY, TRIAL_RETRIES, CheckpointDir
from studies._runner.progress import Progress
from studies._runner.results import RECORD_KEY, ResultsWriter
from studies._runner.spec import RUNNER_FIELDS, StudyConfig, StudySpec

DONE = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
#: System attribute: how many times a trial was queued again because its worker died.
WORKER_RETRIES_KEY = "hnet_studies:worker_retries"
PREFETCH = 1  # trials asked and sampled beyond the running slots, waiting for a worker
#: How long a trial whose worker died waits for a stop signal to reach the driver before it is
#: failed: a scheduler (SLURM's requeue or preemption, ``docker stop``) signals every process of
#: a job at once, and a worker may die of it before the driver has handled its own.
STOP_GRACE_S = 3.0


class TrialFailed(Exception):
    """A trial's task raised, its worker died, or its objective is not finite."""


@dataclass(frozen=True)
class RunSettings:
    """What the driver needs besides the study and its config."""

    study_name: str
    objectives: tuple[str, ...]
    results_dir: Path
    jobs: int
    checkpoints: CheckpointDir | None = None
    trial_retries: int = TRIAL_RETRIES


def study_identity(config: StudyConfig, objectives: tuple[str, ...]) -> dict[str, Any]:
    """What must match for a run to continue a stored study (JSON-normalised)."""
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k not in RUNNER_FIELDS}
    return json.loads(json.dumps({"config": fields, "objectives": list(objectives)}))


def continues(stored: dict[str, Any] | None, identity: dict[str, Any], config: StudyConfig
              ) -> bool:
    """Whether a run of ``identity`` (:func:`study_identity` of ``config``) continues a study
    stored with ``stored``: the same identity, or the same but for config fields added since
    the study was stored, each at its default. A field is added with the default that does
    what the code did before it existed, so the stored trials ran that setting."""
    if stored == identity:
        return True
    if not stored or stored.get("objectives") != identity["objectives"]:
        return False
    old, new = stored.get("config", {}), identity["config"]
    if set(old) - set(new) or any(old[k] != new[k] for k in old):
        return False
    defaults = json.loads(json.dumps({f.name: f.default for f in dataclasses.fields(config)
                                      if f.default is not dataclasses.MISSING}))
    return all(k in defaults and new[k] == defaults[k] for k in set(new) - set(old))


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance() -> dict[str, Any]:
    """Git commit of the code, whether its working tree had uncommitted changes to tracked files
    (then the commit alone does not say what ran), and the versions of the packages a result
    depends on."""
    commit = _git("rev-parse", "HEAD") or None
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    versions: dict[str, str | None] = {}
    for package in ("hnet-studies", "torch", "optuna", "ray"):
        try:
            versions[package.replace("-", "_")] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package.replace("-", "_")] = None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status),
            "versions": versions}


def start_run(study: optuna.Study) -> str:
    """Record this run's provenance on the study; returns the run id trials refer to."""
    run_id = uuid.uuid4().hex[:12]
    study.set_user_attr(f"run_{run_id}", provenance())
    return run_id


def queue_again(study: optuna.Study, trial: optuna.trial.FrozenTrial,
                worker_lost: bool = False) -> None:
    """Queue a new WAITING trial with ``trial``'s parameters, which the next ``ask`` takes
    first. Like Optuna's retry of a stale trial, it notes which trial it retries; unlike it,
    the failed attempt's record, result and error stay with that attempt. ``worker_lost``:
    counted among the trial's retries after a dead worker."""
    system = {k: v for k, v in trial.system_attrs.items() if k != RECORD_KEY}
    if worker_lost:
        system[WORKER_RETRIES_KEY] = system.get(WORKER_RETRIES_KEY, 0) + 1
    system["failed_trial"] = system.get("failed_trial", trial.number)
    system["retry_history"] = [*system.get("retry_history", []), trial.number]
    study.add_trial(optuna.create_trial(state=optuna.trial.TrialState.WAITING,
                                        params=trial.params, distributions=trial.distributions,
                                        system_attrs=system))


def trial_key(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """The trial whose checkpoints a trial uses: the one it retries (queued again after an
    interruption), else its own number."""
    if isinstance(trial, optuna.trial.FrozenTrial):
        system = trial.system_attrs
    else:
        system = trial.storage.get_trial_system_attrs(trial._trial_id)
    return int(system.get("failed_trial", trial.number))


def trainable_params(record: dict[str, Any]) -> int | None:
    """The trial's trainable-parameter count, as its first seed reported it (None if not)."""
    finals = list(record.get("final_metrics", {}).values())
    return int(finals[0]["params"]) if finals and "params" in finals[0] else None


def result_line(record: dict[str, Any], metrics: list[str]) -> str:
    """A trial at a glance: its metrics at the last epoch (mean over seeds), trainable
    parameters, epochs and seeds run, wall time; e.g.
    ``valid_bpc 2.061, test_bpc 1.999; 180,722 params; 5 epochs x 1 seed; 95 s``."""
    finals = list(record.get("final_metrics", {}).values())
    shown = [f"{name} {statistics.fmean(float(f[name]) for f in finals):.4g}"
             for name in metrics if finals and all(name in f for f in finals)
             and name != "params"]
    parts = [", ".join(shown)] if shown else []
    if (params := trainable_params(record)) is not None:
        parts.append(f"{params:,} params")
    if finals:
        epochs = max(int(f.get("epoch", 0)) for f in finals)
        parts.append(f"{epochs} epochs x {len(finals)} seed{'s' if len(finals) > 1 else ''}")
    parts.append(f"{record.get('wall_time_s', 0):.0f} s")
    if "error" in record:
        parts.append(f"error: {record['error']}")
    return "; ".join(parts)


class Driver:
    """Runs one study to its trial count; see the module docstring."""

    def __init__(self, spec: StudySpec, config: StudyConfig, settings: RunSettings,
                 study: optuna.Study, progress: Progress, results: ResultsWriter,
                 run_id: str) -> None:
        self.spec, self.config, self.settings = spec, config, settings
        self.study, self.progress, self.results, self.run_id = study, progress, results, run_id
        self.failures = 0
        self.stopped_by: int | None = None  # the signal that stopped the run, if one did
        self.queued_again = 0
        self.workers = ray_backend.SeedWorkers(config.cpus_per_trial, config.gpus_per_trial,
                                               settings.jobs, len(config.seeds))
        self._lock = threading.Lock()
        self._serialize_ask(study)
        completed = study.get_trials(deepcopy=False, states=(DONE[0],))
        self.best: optuna.trial.FrozenTrial | None = None
        for trial in completed:
            self._track_best(trial)

    @staticmethod
    def _serialize_ask(study: optuna.Study) -> None:
        """One ``study.ask`` at a time in this process.

        ``ask`` pops a WAITING trial (a re-queued stale one) by a check-then-set that SQLite does
        not lock (it ignores SELECT ... FOR UPDATE), so two optimize threads could both take the
        same trial and the second ``tell`` would fail. The driver is the storage's only writer,
        so a lock here is enough.
        """
        ask, lock = study.ask, threading.Lock()

        def locked_ask(*args: Any, **kwargs: Any) -> optuna.Trial:
            with lock:
                return ask(*args, **kwargs)

        cast(Any, study).ask = locked_ask  # an instance attribute over the method

    # -- one trial -----------------------------------------------------------------------
    def objective(self, trial: optuna.Trial) -> float | list[float]:
        seeds = list(self.config.seeds)
        began = time.perf_counter()
        # One user attribute written once per trial: storage writes are the driver's main cost.
        record: dict[str, Any] = {"run": self.run_id, "seeds": seeds, "epochs": [],
                                  "final_metrics": {}}
        runs: dict[int, ray_backend.SeedRun] = {}
        try:
            params = self.spec.search_space(trial, self.config)
            self.progress.trial_started(trial.number, params)
            checkpoints = None
            if (stores := self.settings.checkpoints) is not None:
                key = trial_key(trial)
                checkpoints = {seed: stores.seed(key, seed) for seed in seeds}
            runs = self.workers.submit(self.spec.trial, self.config, params, seeds, checkpoints)
            # Each seed's placement, when it started and ended (the driver's clock, so
            # concurrency can be read off the trials table across nodes), and the epoch its
            # checkpoint resumed it after (0: from the start).
            record["tasks"] = {str(seed): {**(run.next() or {}), "started_at": time.time(),
                                           "resumed_from": 0}
                               for seed, run in runs.items()}
            self._follow(trial, dict(runs), record)
            return self._objective_values(record)
        except optuna.TrialPruned:
            raise
        except Exception as err:  # the search space, a task, a metric, a worker: FAIL
            if isinstance(err, ray.exceptions.RayActorError):  # unavailable, died
                self._await_stop_signal()
                # a killed worker or a lost node: tried again from its checkpoints
                record["worker_lost"] = self.stopped_by is None
            record["error"] = self._error_text(err)
            raise TrialFailed(record["error"]) from err
        finally:
            self.workers.release(runs.values())  # seeds still running are stopped
            record["wall_time_s"] = time.perf_counter() - began
            self._write_record(trial, record)

    def _await_stop_signal(self) -> None:
        """Wait up to :data:`STOP_GRACE_S` for a stop signal, after a worker died: it may have
        died of the signal that stops the run, and then its trial is queued again, not
        failed."""
        deadline = time.monotonic() + STOP_GRACE_S
        while self.stopped_by is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def _error_text(self, err: Exception) -> str:
        """A failed trial's one-line error (an interrupted one's says so)."""
        if self.stopped_by is not None:
            name = signal.Signals(self.stopped_by).name
            return f"stopped by {name}; queued again for the next run"
        if isinstance(err, ray.exceptions.RayError):
            return ray_backend.error_text(err)
        return str(err) if isinstance(err, TrialFailed) else f"{type(err).__name__}: {err}"

    def _write_record(self, trial: optuna.Trial, record: dict[str, Any]) -> None:
        """The full record as a trial system attribute (the results are rebuilt from it; the
        dashboard does not show it), and for people a one-line ``result`` user attribute and
        the ``error`` of a failed trial."""
        # optuna.Trial.set_system_attr is deprecated; the storage's own method is not.
        trial.storage.set_trial_system_attr(trial._trial_id, RECORD_KEY, record)
        trial.set_user_attr("result", result_line(record, list(self.spec.metrics)))
        if (params := trainable_params(record)) is not None:
            trial.set_user_attr("trainable_params", params)
        if "error" in record:
            trial.set_user_attr("error", record["error"])

    def _objective_values(self, record: dict[str, Any]) -> float | list[float]:
        values = [self._seed_mean(record["final_metrics"], name)
                  for name in self.settings.objectives]
        return values[0] if len(values) == 1 else values

    def _follow(self, trial: optuna.Trial, live: dict[int, ray_backend.SeedRun],
                record: dict[str, Any]) -> None:
        """Read every seed's epochs in lockstep, reporting the mean and pruning; a seed leaves
        ``live`` once it has ended."""
        finals = record["final_metrics"]
        while live:
            for seed, run in list(live.items()):
                metrics = run.next()
                if metrics is None:
                    record["tasks"][str(seed)]["ended_at"] = time.time()
                    del live[seed]
                    continue
                if metrics.pop("resumed", False):  # replayed from its checkpoint
                    record["tasks"][str(seed)]["resumed_from"] = int(metrics["epoch"])
                if (note := metrics.pop(NOTE_KEY, None)) is not None:
                    record["tasks"][str(seed)][NOTE_KEY] = note
                    print(f"trial {trial.number}, seed {seed}: {note}", file=sys.stderr)
                record["epochs"].append({"seed": seed, **metrics})
                finals[str(seed)] = metrics
            if not live:
                break
            epoch = max(int(r["epoch"]) for r in record["epochs"])
            value = self._seed_mean(finals, self.settings.objectives[0])
            self.progress.trial_epoch(trial.number, epoch, value)
            if len(self.settings.objectives) == 1:
                trial.report(value, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    @staticmethod
    def _seed_mean(finals: dict, name: str) -> float:
        """The mean of metric ``name`` over the seeds' latest epochs; TrialFailed if unusable."""
        if not finals or any(name not in metrics for metrics in finals.values()):
            raise TrialFailed(f"metric {name!r} missing from the trial's output")
        value = statistics.fmean(float(m[name]) for m in finals.values())
        if not math.isfinite(value):
            raise TrialFailed(f"objective {name} is {value}")
        return value

    # -- the study -----------------------------------------------------------------------
    def interrupt(self, signum: int) -> None:
        """Stop the run now (SIGTERM, SIGINT): the workers end, so running trials fail at once
        and are queued again (:meth:`_finished`), a trial waiting for workers fails the same
        way, and no new trial starts."""
        self.stopped_by = signum
        self.workers.close()

    def _retries(self, trial: optuna.trial.FrozenTrial) -> bool:
        """Whether a trial that failed (not by a stop) is queued again, within the failure
        budget: one whose worker or node died, to go on from its checkpoints, at most
        ``--trial-retries`` times (a trial that kills its worker every time, e.g. out of
        memory, ends as FAIL)."""
        return (self._worker_lost(trial) and trial.system_attrs.get(WORKER_RETRIES_KEY, 0)
                < self.settings.trial_retries)

    @staticmethod
    def _worker_lost(trial: optuna.trial.FrozenTrial) -> bool:
        return bool(trial.system_attrs.get(RECORD_KEY, {}).get("worker_lost", False))

    def _finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.results.add(trial)
        self._track_best(trial)
        failed = trial.state == optuna.trial.TrialState.FAIL
        stopped = self.stopped_by is not None
        again = (failed and not stopped and self._retries(trial)
                 and self.failures + 1 <= self.config.max_failures)
        if self.settings.checkpoints is not None and not (failed and (stopped or again)):
            self.settings.checkpoints.remove_trial(trial_key(trial))  # ended: not resumed
        if stopped:
            if failed:
                queue_again(study, trial)  # interrupted: not a failure, and not shown as one
                with self._lock:
                    self.queued_again += 1
            else:
                self.progress.trial_finished(trial, self.best)
            study.stop()
            return
        self.progress.trial_finished(trial, self.best)
        if failed:
            with self._lock:
                self.failures += 1
                if self.failures > self.config.max_failures:
                    study.stop()
            if again:  # only a trial whose worker died is queued again (_retries)
                queue_again(study, trial, worker_lost=True)

    def _track_best(self, trial: optuna.trial.FrozenTrial) -> None:
        """The best trial so far (single objective), without asking the storage."""
        if len(self.settings.objectives) > 1 or trial.state != DONE[0]:
            return
        maximize = self.spec.metrics[self.settings.objectives[0]] == "maximize"
        value = cast(float, trial.value)  # a complete trial of one objective has its value
        with self._lock:
            best = None if self.best is None else self.best.value
            if best is None or (value > best if maximize else value < best):
                self.best = trial

    def done(self) -> int:
        return len(self.study.get_trials(deepcopy=False, states=DONE))

    def _grid_points_left(self) -> int | None:
        """Trials a grid has left to run (None unless the sampler is a grid): the points no
        trial has taken yet, and the trials queued again (WAITING), each on its point."""
        if not isinstance(self.study.sampler, optuna.samplers.GridSampler):
            return None
        trials = self.study.get_trials(deepcopy=False)
        taken = {t.system_attrs.get("grid_id") for t in trials}
        waiting = sum(t.state == optuna.trial.TrialState.WAITING for t in trials)
        # make_sampler gives a grid sampler only to a study with a grid
        return cast(int, self.spec.grid_size(self.config)) - len(taken - {None}) + waiting

    def run(self) -> int:
        """Optimize until ``n_trials`` trials are done or, with a grid, every point has run
        (failed ones stay failed); returns the process exit code."""
        try:
            while (self.done() < self.config.n_trials and self.stopped_by is None
                   and self.failures <= self.config.max_failures):
                n_trials = self.config.n_trials - self.done()
                grid_left = self._grid_points_left()
                if grid_left is not None:
                    # Optuna's grid sampler repeats a point once every point is taken, so
                    # never ask for more trials than points are left (prefetching included).
                    n_trials = min(n_trials, grid_left)
                    if n_trials == 0:
                        break
                # One thread more than there are slots: it asks Optuna for the next trial
                # and waits for a worker while the others run, so Optuna's per-trial storage
                # work (ask, suggest) is off the slots' critical path.
                self.study.optimize(self.objective, n_trials=n_trials,
                                    n_jobs=min(self.settings.jobs + PREFETCH, n_trials),
                                    catch=(TrialFailed,), callbacks=[self._finished])
        finally:
            self.workers.close()
        return 1 if self.failures > self.config.max_failures else 0
