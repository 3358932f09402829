"""Rules evaluated by real cycles over the stored history: transitions, restarts, the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.support import make_rig
from monitor.alerts import FIRING, RESOLVED, evaluate_rules
from monitor.store.alerts import alert_events, alert_states
from monitor.store.schema import RunRow
from monitor.store.schema_operations import HookDeliveryRow

ACCURACY_RULE = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 2}
HOOKS = {"page": {"type": "command", "argv": ["true"]}}


def states(rig) -> dict[str, str]:
    with rig.store.reading() as session:
        return {row["rule"]: row["state"] for row in alert_states(session, rig.monitor)}


def test_transitions_ride_on_the_cycle_outcome_and_commit_with_the_run(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [{**ACCURACY_RULE, "hooks": ["page"]}], HOOKS)
    seen = [rig.window(a) for a in (0.95, 0.6, 0.6, 0.5, 0.9, 0.95)]
    kinds = [[t.state for t in outcome.transitions] for outcome in seen]
    assert kinds == [[], [], [FIRING], [], [], [RESOLVED]]
    fired = seen[2].transitions[0]
    assert fired.value == pytest.approx(0.6) and fired.threshold == 0.8
    assert fired.run_id == seen[2].run_id and fired.window_end == seen[2].window_end
    assert fired.fired_at == seen[2].window_end
    assert len(fired.delivery_ids) == 1
    resolved = seen[5].transitions[0]
    assert resolved.fired_at == fired.fired_at and resolved.episode == fired.episode == 1
    with rig.store.reading() as session:
        events = alert_events(session, rig.monitor)
        assert [(e.state, e.run_id) for e in events] == [
            (FIRING, seen[2].run_id),
            (RESOLVED, seen[5].run_id),
        ]
        assert session.scalar(select(func.count()).select_from(HookDeliveryRow)) == 2
    assert states(rig) == {"accuracy-drop": RESOLVED}
    rig.close()


def test_states_survive_a_restart_mid_episode(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [ACCURACY_RULE])
    assert rig.window(0.6).transitions == []  # pending
    rig.restart()
    assert [t.state for t in rig.window(0.6).transitions] == [FIRING]
    rig.restart()
    assert states(rig) == {"accuracy-drop": FIRING}
    assert rig.window(0.5).transitions == []  # still firing: nothing per window
    assert rig.window(0.9).transitions == []
    rig.restart()
    assert [t.state for t in rig.window(0.9).transitions] == [RESOLVED]
    rig.close()


def test_unlabelled_windows_neither_advance_nor_reset(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [ACCURACY_RULE])
    assert "accuracy" not in rig.window(None).result.run_metrics()  # no labels: no accuracy
    assert rig.window(0.6).transitions == []
    assert rig.window(None).transitions == []  # skipped, the breach count stays at 1
    assert [t.state for t in rig.window(0.6).transitions] == [FIRING]
    rig.close()


def test_feature_drift_score_rule(tmp_path: Path) -> None:
    # `auto` tests a numeric feature with K-S: the score is a p-value, small means drift
    rule = {"name": "x-drift", "metric": "feature_drift_score:x", "below": 0.001, "for": 1}
    rig = make_rig(tmp_path, [rule])
    calm = rig.window(0.95)
    assert calm.result.features["x"].score > 0.001 and calm.transitions == []
    shifted = rig.window(0.95, shift=3.0)
    assert [t.state for t in shifted.transitions] == [FIRING]
    assert shifted.transitions[0].metric == "feature_drift_score:x"
    assert shifted.transitions[0].value == pytest.approx(shifted.result.features["x"].score)
    rig.close()


def test_a_rule_added_later_reads_the_history_and_announces_an_ongoing_episode(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, [])
    for accuracy in (0.9, 0.6, 0.6, 0.6):
        rig.window(accuracy)
    # the config gains a rule; the history already shows three breaching windows
    document_rule = {**ACCURACY_RULE, "for": 3}
    from monitor.config import AlertRule

    rig.config.monitors[0].alerts.append(AlertRule.model_validate(document_rule))
    rig.restart()
    outcome = rig.window(0.6)
    assert [t.state for t in outcome.transitions] == [FIRING]  # announced once, now
    assert rig.window(0.6).transitions == []
    # removing the rule forgets its state, so no stale alert_firing remains
    rig.config.monitors[0].alerts.clear()
    rig.restart()
    rig.window(0.6)
    assert states(rig) == {}
    rig.close()


def test_evaluating_a_run_twice_raises_nothing_twice(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [{**ACCURACY_RULE, "for": 1}])
    outcome = rig.window(0.5)
    assert len(outcome.transitions) == 1
    with rig.store.transaction() as session:
        again = evaluate_rules(session, rig.config.monitors[0], outcome.run_id, rig.clock.now())
    assert again == []
    with rig.store.reading() as session:
        assert len(alert_events(session, rig.monitor)) == 1
        assert session.scalar(select(func.count()).select_from(RunRow)) == 1
    rig.close()
