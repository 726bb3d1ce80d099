"""Which stored studies a run continues: the same config and objectives, or the same but for
config fields added since, each at its default."""

from __future__ import annotations

import dataclasses

from studies._runner.driver import continues, study_identity
from studies.hypercl_splitmnist import SPEC


def _stored_before(config, *added: str) -> dict:
    """The identity a study stored before ``added`` fields existed."""
    identity = study_identity(config, ("final_acc",))
    for name in added:
        del identity["config"][name]
    return identity


def test_a_field_added_since_at_its_default_continues_the_study():
    config = SPEC.presets["paper"]
    now = study_identity(config, ("final_acc",))
    assert continues(now, now, config)
    assert continues(_stored_before(config, "scenario", "eval_during"), now, config)


def test_a_field_added_since_but_set_otherwise_does_not():
    config = dataclasses.replace(SPEC.presets["paper"], method="hnet_ent", scenario=2)
    stored = _stored_before(config, "scenario")
    assert not continues(stored, study_identity(config, ("final_acc",)), config)


def test_a_changed_or_dropped_field_or_other_objectives_do_not():
    config = SPEC.presets["paper"]
    now = study_identity(config, ("final_acc",))
    changed = study_identity(dataclasses.replace(config, lr=3e-4), ("final_acc",))
    assert not continues(changed, now, config)
    dropped = {**now, "config": {**now["config"], "gone": 1}}
    assert not continues(dropped, now, config)
    assert not continues(study_identity(config, ("during_acc",)), now, config)
    assert not continues(None, now, config)
