"""Ray as the trial executor: start or join a cluster, and run one seed of a trial as a task.

A trial seed runs on a pool of Ray actors (:class:`SeedWorkers`), each a worker process with
one seed's CPUs and GPUs, as a streaming generator that yields the trial function's per-epoch
metrics as they come. Nothing retries: a raised exception or a dead worker reaches the driver,
which records a failed trial. Inside the worker torch uses as many threads as the seed has
CPUs.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import ray

from studies._runner import checkpoints
from studies._runner.checkpoints import TrialCheckpoint
from studies._runner.config import ConfigError
from studies._runner.machine import cpu_model
from studies._runner.spec import TrialFunction

_AUTH_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"
#: Where the raylet's messages to the driver go instead of the terminal (DEBUG level).
RAYLET_LOGGER = logging.getLogger("studies.raylet")


def _raylet_messages_to_log() -> None:
    """Send the raylet's messages to the driver (a dead worker's multi-line warning, ...) to
    :data:`RAYLET_LOGGER` instead of stdout: the trial's FAIL row already carries its error.

    Ray prints them from a thread of its own through ``ray._private.worker.print_to_stdstream``
    and offers no setting for it, so that function is wrapped; the runner's tests check that
    a killed worker leaves no raylet line on the terminal, so a Ray upgrade that moves it shows.
    """
    from ray._private import worker as ray_worker

    printer = ray_worker.print_to_stdstream
    if getattr(printer, "hnet_wrapped", False):
        return

    def print_except_raylet(data: dict, ignore_prefix: bool) -> None:
        if data.get("pid") == "raylet":
            for line in data.get("lines", []):
                RAYLET_LOGGER.debug("%s", line)
            return
        printer(data, ignore_prefix)

    cast(Any, print_except_raylet).hnet_wrapped = True
    ray_worker.print_to_stdstream = print_except_raylet


def check_reachable(address: str) -> None:
    """Fail fast with a one-line error when a ``host:port`` Ray address does not answer."""
    if address == "auto" or address.startswith(("ray://", "local")):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected host:port")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as err:
        raise ConfigError(f"cannot reach a Ray cluster at {address} ({err.strerror or err})"
                          ) from None


def start_ray(address: str | None, num_cpus: int | None = None,
              num_gpus: int | None = None, ship: str | None = None
              ) -> list[dict[str, float]]:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local one.

    Args:
        address: ``host:port`` of a cluster's GCS, ``auto``, or None for a local Ray.
        num_cpus: CPUs of a local Ray (None: all of this machine's).
        num_gpus: GPUs a local Ray declares (None: those CUDA finds). A node may declare GPUs
            it does not have, which is how GPU packing is tested without one.
        ship: a user's study file or package folder, given to every worker through Ray's
            ``runtime_env`` (``py_modules``), on a cluster as on a local Ray.

    Returns:
        Each live node's resources, e.g. ``[{"CPU": 2.0, "GPU": 0.0}]``.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
    else:
        os.environ.setdefault("RAY_TMPDIR", os.path.join(tempfile.gettempdir(), "hnet-ray"))
        # Ray 2.60 turns token auth on for a new local cluster and says so on the terminal;
        # the runner's own lines are all a user should see.
        logging.getLogger(_AUTH_NOTICE_LOGGER).setLevel(logging.ERROR)
    _raylet_messages_to_log()
    local: dict[str, Any] = {} if address else {"num_cpus": num_cpus, "num_gpus": num_gpus,
                                                "include_dashboard": False}
    if ship is not None:
        local["runtime_env"] = {"py_modules": [ship]}
    ray.init(address=address, configure_logging=False, log_to_driver=False,
             ignore_reinit_error=True, **local)
    return node_resources()


def node_resources() -> list[dict[str, float]]:
    """The CPUs and GPUs of each live node of the cluster this process joined."""
    return [{"CPU": n["Resources"].get("CPU", 0.0), "GPU": n["Resources"].get("GPU", 0.0)}
            for n in ray.nodes() if n.get("Alive")]


def how_many_fit(nodes: list[dict[str, float]], cpus: float, gpus: float) -> int:
    """How many holders of ``cpus`` CPUs and ``gpus`` GPUs the nodes hold: a holder (one seed's
    worker) lives on one node, so fractions pack per node (four 0.25-GPU seeds on one GPU)."""
    total = 0
    for node in nodes:
        fits = node.get("CPU", 0.0) // cpus
        if gpus > 0:
            fits = min(fits, node.get("GPU", 0.0) // gpus)
        total += int(fits)
    return total


def stop_ray() -> None:
    if ray.is_initialized():
        ray.shutdown()


def _limit_threads(threads: int) -> None:
    """torch's intra-op threads = the task's CPUs: set on torch when this worker has imported
    it, else through the environment torch reads when the trial imports it (a worker that
    never needs torch, like the synthetic study's, never pays for importing it)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def _device() -> str:
    """``cpu``, or the GPU the worker holds and what it sees of it: the name ``nvidia-smi``
    gives (``NVIDIA H200 (CUDA_VISIBLE_DEVICES=0)``), or ``GPU 0 (CUDA_VISIBLE_DEVICES=0; no
    CUDA device)`` on a node that declares a GPU it does not have. Neither imports torch, so a
    study without a model (``synthetic``) never loads CUDA."""
    ids = [str(i) for i in ray.get_gpu_ids()]
    if not ids:
        return "cpu"
    visible = f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}"
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader",
                               "-i", ids[0]], capture_output=True, text=True, timeout=10)
        name = done.stdout.strip().splitlines()[0] if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError, IndexError):
        name = ""
    return f"{name} ({visible})" if name else f"GPU {ids[0]} ({visible}; no CUDA device)"


# Ray's stubs: remote()'s keyword overload lacks the actor options (concurrency_groups)
@ray.remote(max_restarts=0, max_task_retries=0, concurrency_groups={"control": 1})  # type: ignore[call-overload]
class SeedWorker:
    """A Ray actor that runs trial seeds one after another in one worker process.

    An actor task goes straight to its process, where a plain task first asks the raylet for
    a worker: at dozens of trials a second that lease was Ray's largest cost here (a local
    2-CPU Ray ran 57 streaming tasks a second at 64 slots, against 115 on actors).
    :meth:`run` executes one seed at a time (the default concurrency group, one thread);
    :meth:`stop` comes through a group of its own, so it reaches a running seed.
    """

    def __init__(self) -> None:
        self._device = _device()  # fixed for the actor's life: its GPUs do not change
        self._cpu_model = cpu_model()
        self._stopped: set[int] = set()
        self._last_ended = -1  # runs come in the order of their ids (one caller at a time)

    def run(self, run_id: int, trial_fn: TrialFunction, config: Any, params: dict, seed: int,
            threads: int, checkpoint: TrialCheckpoint | None = None) -> Iterator[dict]:
        try:
            if run_id in self._stopped:  # stopped before it started
                return
            _limit_threads(threads)
            yield {"node_id": ray.get_runtime_context().get_node_id(),
                   "device": self._device, "cpu_model": self._cpu_model, "threads": threads}
            with checkpoints.active(checkpoint):
                for metrics in checkpoints.seed_epochs(trial_fn, config, params, seed,
                                                       checkpoint):
                    if run_id in self._stopped:
                        return
                    yield metrics
        finally:
            self._stopped.discard(run_id)
            self._last_ended = run_id

    @ray.method(concurrency_group="control")
    def ready(self) -> bool:
        """Answers once the worker has been placed and started."""
        return True

    @ray.method(concurrency_group="control")
    def stop(self, run_id: int) -> None:
        """End run ``run_id`` before its next epoch is reported (its current one finishes)."""
        if run_id > self._last_ended:  # running or queued; an ended one needs nothing
            self._stopped.add(run_id)


class PoolClosed(RuntimeError):
    """The worker pool was closed (the run is stopping) while a trial waited for workers."""


@dataclass
class SeedRun:
    """One seed of a trial running on a :class:`SeedWorker`."""

    worker: Any  # the actor's handle
    run_id: int
    stream: ray.ObjectRefGenerator
    finished: bool = False
    worker_died: bool = False

    def next(self) -> dict | None:
        """The seed's next output (first where it runs: ``node_id``, ``device``, ``cpu_model``,
        ``threads``; then the trial function's per-epoch metrics), None once it has ended.
        Raises what the trial raised (a ``RayTaskError``) or ``RayActorError`` when its worker
        died."""
        try:
            return ray.get(next(self.stream))
        except StopIteration:
            self.finished = True
            return None
        except ray.exceptions.RayActorError:
            self.worker_died = True
            raise


class SeedWorkers:
    """The pool of :class:`SeedWorker` actors a study's seeds run on, each holding one seed's
    CPUs and GPUs for as long as it lives. Thread-safe.

    A trial takes one idle worker per seed, or as many as the cluster can hold at once (then
    its other seeds queue on those workers and run as the first ones end), waiting until that
    many are idle; they are taken together, so two trials never each hold part of what they
    wait for. Up to ``slots`` trials' workers are started as trials wait, and a worker joins the
    pool only once Ray has placed it, so a cluster with room for fewer runs what fits while the
    rest wait for room (an autoscaler sees them as demand). A worker whose process died is
    replaced; a worker that cannot be started fails the trial that waited for it.
    """

    def __init__(self, cpus: float, gpus: float, slots: int, seeds: int) -> None:
        self.cpus, self.gpus = cpus, gpus
        self.per_trial = max(1, min(seeds, how_many_fit(node_resources(), cpus, gpus)))
        self.size = slots * self.per_trial
        self.threads = max(1, math.floor(cpus))
        self._idle: list[Any] = []
        self._alive: list[Any] = []  # placed or being started
        self._start_error: BaseException | None = None
        self._runs = itertools.count()
        self._changed = threading.Condition()
        self._closed = False

    def _start_one(self) -> None:
        """Ask Ray for one more worker (under the lock); it joins ``_idle`` once placed."""
        # Ray's stubs: the decorator above is untyped for actors, so mypy sees the plain class
        worker = SeedWorker.options(num_cpus=self.cpus, num_gpus=self.gpus).remote()  # type: ignore[attr-defined]
        self._alive.append(worker)
        threading.Thread(target=self._when_placed, args=(worker,), daemon=True,
                         name="seed-worker-start").start()

    def _when_placed(self, worker: Any) -> None:
        try:
            ray.get(worker.ready.remote())
        except ray.exceptions.RayError as err:
            with self._changed:
                if worker in self._alive:  # else the pool was closed meanwhile
                    self._alive.remove(worker)
                    self._start_error = err
                self._changed.notify_all()
            return
        with self._changed:
            if worker in self._alive:
                self._idle.append(worker)
            self._changed.notify_all()

    def _take(self, count: int) -> list[Any]:
        """``count`` idle workers at once (a trial's seeds: taken one by one, two trials could
        each hold a worker and wait for the other's)."""
        with self._changed:
            while len(self._idle) < count:
                if self._closed:
                    raise PoolClosed("the run is stopping; no worker is given out")
                if self._start_error is not None:
                    err, self._start_error = self._start_error, None
                    raise err
                if len(self._alive) < self.size:
                    self._start_one()
                    continue
                self._changed.wait()
            taken, self._idle = self._idle[-count:], self._idle[:-count]
            return taken

    def submit(self, trial_fn: TrialFunction, config: Any, params: dict,
               seeds: list[int], checkpoints: dict[int, TrialCheckpoint] | None = None
               ) -> dict[int, SeedRun]:
        """Start a trial's seeds on idle workers (see the class docstring), each with its
        checkpoint where given."""
        workers = self._take(min(len(seeds), self.per_trial))
        runs = {}
        for index, seed in enumerate(seeds):
            worker, run_id = workers[index % len(workers)], next(self._runs)
            checkpoint = (checkpoints or {}).get(seed)
            stream = worker.run.remote(run_id, trial_fn, config, params, seed, self.threads,
                                       checkpoint)
            runs[seed] = SeedRun(worker, run_id, stream)
        return runs

    def release(self, runs: Iterable[SeedRun]) -> None:
        """Give a trial's workers back: its seeds still running (pruned, or a sibling failed)
        are stopped first; a worker whose process died is ended."""
        returned, dead = [], []
        for run in runs:
            if run.worker_died:
                dead.append(run.worker)
            elif not run.finished:
                run.worker.stop.remote(run.run_id)
            if run.worker not in returned:
                returned.append(run.worker)
        for worker in dead:
            ray.kill(worker)
        with self._changed:
            for worker in returned:
                if worker in dead:
                    if worker in self._alive:
                        self._alive.remove(worker)
                elif worker in self._alive and worker not in self._idle:
                    self._idle.append(worker)
            self._changed.notify_all()

    def start(self, count: int) -> None:
        """Wait until ``count`` (at most ``size``) workers are idle, starting them as a trial
        would: a benchmark times the trials apart from the workers' start."""
        workers = self._take(min(count, self.size))
        with self._changed:
            self._idle.extend(workers)
            self._changed.notify_all()

    def close(self) -> None:
        """End every worker (a Ray shutdown does too; this is for a cluster that stays up); a
        trial waiting for workers gets :class:`PoolClosed`, one running gets its worker's
        death."""
        with self._changed:
            workers, self._alive, self._idle = self._alive, [], []
            self._closed = True
            self._changed.notify_all()
        for worker in workers:
            ray.kill(worker)


def error_text(err: BaseException) -> str:
    """One line naming what went wrong in a task: the original exception where Ray wraps one."""
    cause = getattr(err, "cause", None) or err
    message = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {message[0] if message else ''}".strip()
