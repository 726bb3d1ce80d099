"""Checks of GPU packing shared by the local and the cluster tests: trials of a fraction of a
GPU run side by side on a node that declares one GPU (no CUDA needed)."""

from __future__ import annotations

import pandas as pd

FAKE_GPU = "GPU 0 (CUDA_VISIBLE_DEVICES=0; no CUDA device)"


def most_at_once(trials: pd.DataFrame) -> int:
    """The most seeds running at the same moment, from their start and end times (an end
    and a start at the same instant do not overlap)."""
    events = sorted([(t, 1) for t in trials.started_at] + [(t, -1) for t in trials.ended_at],
                    key=lambda event: (event[0], event[1]))
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def check_packed(trials: pd.DataFrame, trials_run: int, at_once: int) -> None:
    assert (trials.state == "COMPLETE").sum() == trials_run
    assert trials.started_at.notna().all() and trials.ended_at.notna().all()
    assert (trials.device == FAKE_GPU).all(), trials.device.unique()
    assert trials.node_id.nunique() == 1  # all on the node with the GPU
    assert most_at_once(trials) == at_once
