"""Ray as the trial executor: start or join a cluster, and run one seed of a trial as a task.

A trial seed runs as a Ray streaming-generator task that yields the trial function's per-epoch
metrics as they come. Tasks never retry: a raised exception or a dead worker reaches the driver,
which records a failed trial. Inside the task torch uses as many threads as the task has CPUs.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import ray

from studies._runner.config import ConfigError
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

    print_except_raylet.hnet_wrapped = True
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
              workers: int | None = None) -> dict[str, float]:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local one.

    Args:
        address: ``host:port`` of a cluster's GCS, ``auto``, or None for a local Ray.
        num_cpus: CPUs of a local Ray (None: all of this machine's).
        workers: worker processes a local Ray keeps alive when idle (the trial slots). Ray's
            default keeps as many as it has CPUs and kills the rest once idle, so trials with
            fractions of a CPU would each start a fresh Python worker.

    Returns:
        The cluster's total resources, e.g. ``{"CPU": 2.0, "GPU": 0.0}``.
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
    local = {} if address else {"num_cpus": num_cpus, "include_dashboard": False}
    if not address and workers:
        local["_system_config"] = {"num_workers_soft_limit": int(workers)}
    ray.init(address=address, configure_logging=False, log_to_driver=False,
             ignore_reinit_error=True, **local)
    resources = ray.cluster_resources()
    return {"CPU": resources.get("CPU", 0.0), "GPU": resources.get("GPU", 0.0)}


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
    """The GPU's name when the task holds one, else ``cpu``."""
    if not ray.get_gpu_ids():
        return "cpu"
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


@ray.remote(max_retries=0, retry_exceptions=False)
def _trial_task(trial_fn: TrialFunction, config: Any, params: dict, seed: int,
                threads: int) -> Iterator[dict]:
    _limit_threads(threads)
    yield {"node_id": ray.get_runtime_context().get_node_id(), "device": _device(),
           "threads": threads}
    yield from trial_fn(config, params, seed)


def submit_seed(trial_fn: TrialFunction, config: Any, params: dict, seed: int,
                cpus: float, gpus: float) -> ray.ObjectRefGenerator:
    """Start one seed of a trial.

    Iterating the result gives ObjectRefs: first of where the task runs (``node_id``,
    ``device``, ``threads``), then of the trial function's per-epoch metrics.
    """
    threads = max(1, math.floor(cpus))
    return _trial_task.options(num_cpus=cpus, num_gpus=gpus).remote(
        trial_fn, config, params, seed, threads)


def cancel(generator: ray.ObjectRefGenerator) -> None:
    """Stop a running trial seed (pruned, or a sibling seed failed)."""
    ray.cancel(generator, force=False)


def error_text(err: BaseException) -> str:
    """One line naming what went wrong in a task: the original exception where Ray wraps one."""
    cause = getattr(err, "cause", None) or err
    message = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {message[0] if message else ''}".strip()
