"""Each app's rule is one Python function and one Solidity function: on random moves (honest ones and
honest ones with a field forged) both accept, or both refuse for the same reason (the Python class is
named like the Solidity custom error). Calls go through `Adjudicator.validTransition`, so the
adjudicator's own rules (turns, setup, final states, totals) are compared too."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from l2.designs.statechannels.errors import MalformedState, StateChannelViolation
from l2.designs.statechannels.rules import (
    APPS,
    FixedPart,
    Phase,
    RPSData,
    VariablePart,
    check_transition,
    commitment_of,
    pay,
    rps_move,
)
from l2.errors import TransactionReverted

ALICE, BOB, HUB = (to_checksum_address("0x" + c * 20) for c in ("aa", "bb", "cc"))
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Where Solidity cannot name the rule (a failed abi.decode reverts empty, checked arithmetic panics).
EQUIVALENT = {("MalformedState", "EmptyRevert"), ("WrongPayout", "Panic"), ("OutcomeTotalChanged", "Panic")}


def python_verdict(fixed, frm, to, app) -> str:
    try:
        check_transition(fixed, frm, to, APPS[app])
    except StateChannelViolation as exc:
        return type(exc).__name__
    return "ok"


def solidity_verdict(chain, adjudicator, fixed, frm, to) -> str:
    try:
        assert chain.call(adjudicator.functions.validTransition(fixed.as_tuple(), frm.as_tuple(), to.as_tuple()))
    except TransactionReverted as exc:
        return exc.error_name
    return "ok"


def assert_same(chain, adjudicator, fixed, frm, to, app):
    py, sol = python_verdict(fixed, frm, to, app), solidity_verdict(chain, adjudicator, fixed, frm, to)
    assert py == sol or (py, sol) in EQUIVALENT, (py, sol, frm, to)
    if currently_in_test_context():
        event(py)  # --hypothesis-show-statistics: the sweep sees acceptances and each kind of refusal
    return py


amounts = st.integers(0, 10**20)
plays = st.sampled_from([0, 1, 2, 3, 4])
salts = st.binary(min_size=32, max_size=32)


@st.composite
def rps_states(draw):
    """A state in any phase, built by honest moves from a Start state (so it is reachable)."""
    a, b = draw(amounts), draw(amounts)
    stake = draw(st.integers(0, min(a, b) + 1))  # now and then one more than a player can cover
    state = VariablePart((a, b), RPSData(Phase.START, stake).encode(), draw(st.integers(2, 1000)) // 4 * 4 + 1)
    secret = None
    for _ in range(draw(st.integers(0, 3))):
        data = RPSData.decode(state.app_data)
        if data.phase == Phase.START and (state.outcome[0] < stake or state.outcome[1] < stake):
            break
        if data.phase == Phase.PLAY:
            play, salt = secret
            state, _, _ = rps_move(state, play=play, salt=salt)
        else:
            state, play, salt = rps_move(state, play=draw(st.integers(1, 3)), salt=draw(salts))
            if data.phase == Phase.START:
                secret = (play, salt)
    return state, secret


def forge(draw, state: VariablePart, honest: VariablePart) -> VariablePart:
    """The honest move with one field forged (or none)."""
    data = RPSData.decode(honest.app_data)
    field = draw(st.sampled_from(["none", "phase", "stake", "commitment", "play_b", "play_a", "salt", "outcome",
                                  "turn", "final", "appdata"]))
    if field == "none":
        return honest
    if field in ("phase", "stake", "commitment", "play_b", "play_a", "salt"):
        value = {"phase": draw(st.sampled_from(list(Phase))), "stake": draw(st.integers(0, 10**19)),
                 "commitment": draw(salts), "play_b": draw(plays), "play_a": draw(plays), "salt": draw(salts)}[field]
        return dataclasses.replace(honest, app_data=dataclasses.replace(data, **{field: value}).encode())
    if field == "outcome":
        delta = draw(st.integers(-10**18, 10**18))
        a = max(0, honest.outcome[0] + delta)
        b = max(0, honest.outcome[1] - delta) if draw(st.booleans()) else honest.outcome[1]
        return dataclasses.replace(honest, outcome=(a, b))
    if field == "turn":
        return dataclasses.replace(honest, turn_num=draw(st.sampled_from([state.turn_num, state.turn_num + 2])))
    if field == "final":
        return dataclasses.replace(honest, is_final=True)
    return dataclasses.replace(honest, app_data=draw(st.binary(max_size=200)))


@pytest.fixture(scope="module")
def rps_fixed(contracts):
    return FixedPart((ALICE, BOB), 1, contracts["rps"].address, 100)


@SETTINGS
@given(data=st.data())
def test_rock_paper_scissors_python_and_solidity_agree(chain, adjudicator, rps_fixed, data):
    state, secret = data.draw(rps_states())
    phase = RPSData.decode(state.app_data).phase
    if phase == Phase.PLAY:
        honest, _, _ = rps_move(state, play=secret[0], salt=secret[1])
    else:
        honest, _, _ = rps_move(state, play=data.draw(st.integers(1, 3)), salt=data.draw(salts))
    to = forge(data.draw, state, honest)
    assert_same(chain, adjudicator, rps_fixed, state, to, "rps")


@SETTINGS
@given(a=amounts, b=amounts, turn=st.integers(0, 6), amount=st.integers(0, 10**20),
       tweak=st.sampled_from(["none", "payee", "bystander", "appdata", "reverse"]), three=st.booleans())
def test_single_direction_payment_python_and_solidity_agree(chain, adjudicator, contracts, a, b, turn, amount,
                                                            tweak, three):
    participants = (ALICE, BOB, HUB) if three else (ALICE, BOB)
    fixed = FixedPart(participants, 2, contracts["payment"].address, 100)
    outcome = (a, b, 5) if three else (a, b)
    frm = VariablePart(outcome, b"\x01", turn)
    to = pay(frm, min(amount, a)) if fixed.mover(turn + 1) == 0 else dataclasses.replace(frm, turn_num=turn + 1)
    if tweak == "payee":
        to = dataclasses.replace(to, outcome=(to.outcome[0], to.outcome[1] + 1, *to.outcome[2:]))
    elif tweak == "bystander" and three:
        to = dataclasses.replace(to, outcome=(to.outcome[0] + 1, to.outcome[1], to.outcome[2] - 1))
    elif tweak == "appdata":
        to = dataclasses.replace(to, app_data=b"\x02")
    elif tweak == "reverse" and to.outcome[1] > 0:
        to = dataclasses.replace(to, outcome=(to.outcome[0] + 1, to.outcome[1] - 1, *to.outcome[2:]))
    assert_same(chain, adjudicator, fixed, frm, to, "payment")


def test_the_honest_rps_round_is_valid_and_each_rule_has_its_own_refusal(chain, adjudicator, rps_fixed):
    """The sweep above must see refusals, not only acceptances: one forged move per rule, named."""
    start = VariablePart((10, 10), RPSData(Phase.START, 3).encode(), 1)
    salt = b"\x07" * 32
    commit, _, _ = rps_move(start, play=1, salt=salt)
    played, _, _ = rps_move(commit, play=3)
    revealed, _, _ = rps_move(played, play=1, salt=salt)
    assert revealed.outcome == (13, 7)  # rock beats scissors
    for frm, to in ((start, commit), (commit, played), (played, revealed)):
        assert assert_same(chain, adjudicator, rps_fixed, frm, to, "rps") == "ok"
    cheat = dataclasses.replace(revealed, app_data=dataclasses.replace(RPSData.decode(revealed.app_data),
                                                                       play_a=2).encode())
    assert assert_same(chain, adjudicator, rps_fixed, played, cheat, "rps") == "RevealMismatch"
    assert commitment_of(1, salt) == RPSData.decode(commit.app_data).commitment
    skip = dataclasses.replace(played, turn_num=commit.turn_num + 1, app_data=RPSData(
        Phase.REVEAL, 3, RPSData.decode(commit.app_data).commitment, 3, 1, salt).encode())
    assert assert_same(chain, adjudicator, rps_fixed, commit, skip, "rps") == "InvalidPhaseTransition"
    setup = VariablePart((10, 10), RPSData(Phase.START, 3).encode(), 0)
    assert assert_same(chain, adjudicator, rps_fixed, setup,
                       dataclasses.replace(setup, turn_num=1, outcome=(5, 15)), "rps") == "SetupStateChanged"
    with pytest.raises(MalformedState):
        RPSData.decode(b"\x01" * 10)
