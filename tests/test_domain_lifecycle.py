"""Every lifecycle transition, legal and illegal, without HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from backend.domain import lifecycle as lc
from backend.domain.errors import IllegalTransition, Invalid, TooSoon
from backend.domain.types import DocStatus, Kind, Outcome, Rules, State, Visit

from .helpers import T0

RULES = Rules(max_calls=3, recall_min_seconds=30)


def visit(state: State, **kw) -> Visit:
    base = dict(id=1, site_id="s", day=date(2026, 11, 24), kind=Kind.BOOKED, ticket="B001",
                state=state, errand="passport_adult", expected_minutes=10,
                slot_start=T0, documents=(("old_passport", DocStatus.UNKNOWN),))
    base.update(kw)
    return Visit(**base)


# action -> a call that performs it on a visit
ACTIONS = {
    "check_in": lambda v: lc.check_in(v, T0),
    "call": lambda v: lc.call(v, 7, T0),
    "recall": lambda v: lc.recall(replace(v, call_count=1,
                                          last_called_at=T0 - timedelta(minutes=1)), T0, RULES),
    "start": lambda v: lc.start(v, T0),
    "park": lambda v: lc.park(v, T0),
    "resume": lambda v: lc.resume(v, T0),
    "transfer": lambda v: lc.transfer(v, T0, to_counter=2, to_errand=None),
    "requeue": lambda v: lc.requeue(v, T0),
    "move": lambda v: lc.move(v, 3),
    "priority": lambda v: lc.set_priority(v, 2),
    "no_show": lambda v: lc.no_show(v, T0),
    "undo_no_show": lambda v: lc.undo_no_show(v, T0),
    # finished two minutes before: within the undo window
    "undo_finish": lambda v: lc.undo_finish(replace(v, finished_at=T0 - timedelta(minutes=2)),
                                            T0),
    "walk_out": lambda v: lc.walk_out(v, T0),
    "finish": lambda v: lc.finish(v, T0, Outcome.SERVED),
    "cancel": lambda v: lc.cancel(v, T0),
    "document": lambda v: lc.set_document(v, "old_passport", DocStatus.PRESENT),
    "note": lambda v: lc.touch_for_note(v),
    "reschedule": lambda v: lc.reschedule(v, T0 + timedelta(days=1), date(2026, 11, 25)),
}

# where each action leads
EXPECTED = {
    "check_in": State.WAITING, "call": State.CALLED, "recall": State.CALLED,
    "start": State.SERVING, "park": State.PARKED, "resume": State.WAITING,
    "transfer": State.WAITING, "requeue": State.WAITING, "no_show": State.NO_SHOW,
    "undo_no_show": State.WAITING, "undo_finish": State.SERVING, "walk_out": State.LEFT,
    "finish": State.DONE,
    "cancel": State.CANCELLED,
}


def test_every_action_has_a_test():
    assert set(ACTIONS) == set(lc.ALLOWED)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("state", list(State))
def test_transition_legal_or_409(action, state):
    v = visit(state)
    if state in lc.ALLOWED[action]:
        after = ACTIONS[action](v)
        assert after.version > v.version
        if action in EXPECTED:
            assert after.state is EXPECTED[action]
        else:
            assert after.state is state
    else:
        with pytest.raises(IllegalTransition) as exc:
            ACTIONS[action](v)
        assert exc.value.status == 409
        assert exc.value.extra["state"] == state.value
        assert exc.value.code == "illegal_transition"


def test_call_sets_counter_and_first_call():
    v = lc.call(visit(State.WAITING), 4, T0)
    assert (v.counter_id, v.call_count, v.called_at, v.last_called_at) == (4, 1, T0, T0)


def test_recall_is_rate_limited_and_capped():
    v = lc.call(visit(State.WAITING), 4, T0)
    with pytest.raises(TooSoon) as exc:
        lc.recall(v, T0 + timedelta(seconds=10), RULES)
    assert exc.value.status == 429 and exc.value.extra["retry_after"] == 21
    v = lc.recall(v, T0 + timedelta(seconds=30), RULES)
    v = lc.recall(v, T0 + timedelta(seconds=60), RULES)
    assert v.call_count == 3
    with pytest.raises(IllegalTransition) as exc:
        lc.recall(v, T0 + timedelta(seconds=120), RULES)
    assert exc.value.code == "max_calls_reached"


def test_requeue_returns_to_pool_keeps_call_count():
    v = lc.requeue(lc.call(visit(State.WAITING), 4, T0), T0)
    assert v.state is State.WAITING and v.counter_id is None and v.call_count == 1


def test_resume_keeps_counter():
    v = lc.park(lc.start(lc.call(visit(State.WAITING), 4, T0), T0), T0)
    v = lc.resume(v, T0)
    assert v.state is State.WAITING and v.counter_id == 4


def test_transfer_needs_a_target_and_resets_call():
    serving = lc.start(lc.call(visit(State.WAITING), 4, T0), T0)
    with pytest.raises(Invalid):
        lc.transfer(serving, T0, to_counter=None, to_errand=None)
    v = lc.transfer(serving, T0, to_counter=None, to_errand="mitid", expected_minutes=15)
    assert (v.state, v.errand, v.expected_minutes, v.counter_id, v.call_count) == (
        State.WAITING, "mitid", 15, None, 0)


def test_finish_outcomes_need_their_detail():
    serving = visit(State.SERVING)
    with pytest.raises(Invalid) as exc:
        lc.finish(serving, T0, Outcome.REFERRED)
    assert exc.value.code == "referral_needs_authority"
    with pytest.raises(Invalid):
        lc.finish(serving, T0, Outcome.OTHER, note="  ")
    done = lc.finish(serving, T0, Outcome.REFERRED, referred_to="Familieretshuset")
    assert done.state is State.DONE and done.referred_to == "Familieretshuset"


def test_unknown_document_is_refused():
    with pytest.raises(Invalid) as exc:
        lc.set_document(visit(State.WAITING), "nope", DocStatus.PRESENT)
    assert exc.value.code == "unknown_document"


def test_undo_no_show_clears_the_calls():
    v = lc.no_show(lc.call(visit(State.WAITING), 4, T0), T0)
    v = lc.undo_no_show(v, T0)
    assert (v.state, v.counter_id, v.call_count, v.left_reason) == (
        State.WAITING, None, 0, None)


def test_undo_finish_only_within_five_minutes():
    done = lc.finish(visit(State.SERVING), T0, Outcome.SERVED)
    back = lc.undo_finish(done, T0 + timedelta(minutes=5))
    assert back.state is State.SERVING and back.outcome is None and back.finished_at is None
    with pytest.raises(IllegalTransition) as exc:
        lc.undo_finish(done, T0 + timedelta(minutes=5, seconds=1))
    assert exc.value.code == "undo_too_late"
