"""The order lifecycle: every action from every state, allowed or refused.

The table below is the lifecycle as the domain brief states it (draft -> requested -> accepted
-> delivered (partial deliveries allowed) -> received -> settled -> closed; cancelled before
delivery; disputed from any live state until resolved), written out independently of the code.
"""

from __future__ import annotations

import pytest

from acsa.errors import InvalidTransition, OrderClosed
from acsa.orders.domain import State, check_transition

S = State
EXPECTED: dict[str, set[State]] = {
    "edit": {S.DRAFT},
    "request": {S.DRAFT},
    "accept": {S.REQUESTED},
    # more may be delivered after part has been received or settled
    "deliver": {S.ACCEPTED, S.DELIVERED, S.RECEIVED, S.SETTLED},
    "receive": {S.DELIVERED},
    # a receipted claim can be settled while a later delivery awaits its receipt
    "settle": {S.DELIVERED, S.RECEIVED, S.SETTLED},
    "close": {S.SETTLED},
    "cancel": {S.DRAFT, S.REQUESTED, S.ACCEPTED},
    "dispute": {S.REQUESTED, S.ACCEPTED, S.DELIVERED, S.RECEIVED, S.SETTLED},
    "resolve": {S.DISPUTED},
}
PAIRS = [(state, action) for action in EXPECTED for state in State]


@pytest.mark.parametrize(("state", "action"),
                         [p for p in PAIRS if p[0] in EXPECTED[p[1]]])
def test_allowed(state, action):
    check_transition(state.value, action, "PHJP-PH-2026-0001")


@pytest.mark.parametrize(("state", "action"),
                         [p for p in PAIRS if p[0] not in EXPECTED[p[1]] and p[0] != S.CLOSED])
def test_refused_with_the_action_and_the_state(state, action):
    with pytest.raises(InvalidTransition) as e:
        check_transition(state.value, action, "PHJP-PH-2026-0001")
    assert type(e.value) is InvalidTransition
    assert e.value.message == f"cannot {action} order PHJP-PH-2026-0001: it is {state.value}"
    assert e.value.hint[0].isupper() and e.value.hint.endswith(".")


@pytest.mark.parametrize("action", list(EXPECTED))
def test_a_closed_order_can_no_longer_change(action):
    with pytest.raises(OrderClosed) as e:
        check_transition("closed", action, "PHJP-PH-2026-0001")
    assert "order PHJP-PH-2026-0001 is closed" in e.value.message
    assert "new order" in e.value.hint


def test_the_hint_says_how_to_get_there():
    with pytest.raises(InvalidTransition) as e:
        check_transition("draft", "close", "X")
    assert e.value.hint.startswith("Settle every claim first")
    with pytest.raises(InvalidTransition) as e:
        check_transition("delivered", "cancel", "X")
    assert "before anything is delivered" in e.value.hint

