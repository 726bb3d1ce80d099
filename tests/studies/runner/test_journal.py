"""The journal storage's index of WAITING trials against Optuna's full scan of the same file."""

from __future__ import annotations

import optuna
from optuna.storages.journal import JournalStorage
from optuna.trial import TrialState

from studies._runner.journal import FlushedJournalBackend, open_journal

WAITING = (TrialState.WAITING,)


def _waiting_numbers(storage: JournalStorage, study_id: int) -> list[int]:
    return [t.number for t in storage.get_all_trials(study_id, deepcopy=False, states=WAITING)]


def test_waiting_trials_are_found_as_a_full_scan_finds_them(tmp_path):
    path = tmp_path / "optuna.journal"
    indexed = open_journal(path)
    other_writer = JournalStorage(FlushedJournalBackend(path))  # Optuna's scan; another writer
    study = optuna.create_study(study_name="queue", storage=indexed)
    study_id = study._study_id

    def check() -> list[int]:
        found = _waiting_numbers(indexed, study_id)
        assert found == _waiting_numbers(other_writer, study_id)
        return found

    for _ in range(30):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("x", 0, 1))
    assert check() == []
    study.enqueue_trial({"x": 0.25})
    optuna.load_study(study_name="queue", storage=other_writer).enqueue_trial({"x": 0.5})
    assert check() == [30, 31]
    first = study.ask()  # pops the first queued trial, with its parameters
    assert (first.number, first.suggest_float("x", 0, 1)) == (30, 0.25)
    assert check() == [31]
    study.tell(first, 0.0)
    assert study.ask().number == 31 and check() == []
    assert study.ask().number == 32 and check() == []  # a fresh trial once the queue is empty
    assert indexed.get_all_trials(study_id, states=WAITING) == []  # deepcopy path
