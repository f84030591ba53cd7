"""Every attack the issue lists, tried with forged input; each asserts the exact refusal, off chain (the
Python class) and on chain (the custom error)."""

from __future__ import annotations

import dataclasses

import pytest

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import conclude_together, connect, deliver
from l2.designs.statechannels.rules import PAPER, ROCK, SCISSORS, FixedPart, Phase, RPSData, VariablePart, rps_move
from l2.errors import TransactionReverted

from .conftest import DURATION, ETHER, STAKE


def sign(account, party, state, *, domain=None, channel_id=None):
    return m.sign_state(Signer(bytes(account.key)), domain or party.domain, channel_id or party.channel_id, state)


def forged_move(account, party, state, **kwargs) -> dict:
    return m.encode_move(party.channel_id, state, sign(account, party, state, **kwargs))


def snapshot(party):
    rows = party.store.db.execute("SELECT * FROM states ORDER BY 1, 2, 3, 4").fetchall() if party.store else ()
    return dict(party.states), party.final, dict(party.secrets), rows


# --- stale states ----------------------------------------------------------------------------------

def test_a_stale_challenge_is_answered_with_the_newer_state(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    stale_proof = pa.proof()  # turns 1-2: the commitment, before bob's play paid him the stake
    stale = pa.supported()[0]
    deliver(pb.play(PAPER), pa)
    deliver(pa.play(), pb)  # bob won the round: (1 - stake, 1 + stake)
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(pa.domain, pa.channel_id, stale))
    chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), stale_proof, m.sig_tuple(sig)),
                   alice)
    pb.checkpoint()  # bob's newer supported state clears the challenge
    record = chain.call(contracts["adjudicator"].functions.channelRecord(pa.channel_id))
    assert record[0] == pb.turn_num and record[1] == 0
    with pytest.raises(TransactionReverted, match="TurnNumNotIncreased"):  # and the stale state is useless now
        chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), stale_proof,
                                                                    m.sig_tuple(sig)), alice)
    chain.advance_time(DURATION)
    assert pb.onchain().status(chain.now()) == "open"


# --- illegal moves ---------------------------------------------------------------------------------

def test_an_illegal_move_is_refused_off_chain_and_on_chain(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(SCISSORS), pa)
    # Alice loses if she reveals rock: she "reveals" paper instead, with her real salt.
    play, salt = pa.secrets[2]
    honest, _, _ = rps_move(pa.latest, play=play, salt=salt)
    data = RPSData.decode(honest.app_data)
    cheat = dataclasses.replace(honest, outcome=(ETHER + STAKE, ETHER - STAKE),
                                app_data=dataclasses.replace(data, play_a=PAPER).encode())
    before = snapshot(pb)
    with pytest.raises(e.RevealMismatch):
        pb.receive(forged_move(alice, pa, cheat))
    assert snapshot(pb) == before
    with pytest.raises(e.RevealMismatch):
        pa.propose(cheat)  # her own party refuses to sign it, too
    pb.challenge()
    with pytest.raises(TransactionReverted, match="RevealMismatch"):
        chain.transact(contracts["adjudicator"].functions.respond(
            pa.fixed.as_tuple(), pb.latest.as_tuple(), m.signed_tuple(cheat, [sign(alice, pa, cheat)])), alice)


def test_a_payment_app_payee_cannot_take_money(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, app="payment")
    deliver(pa.pay(10), pb)
    grab = VariablePart((pb.latest.outcome[0] - 5, pb.latest.outcome[1] + 5), b"", pb.turn_num + 1)
    with pytest.raises(e.PayeeCannotMoveFunds):
        pa.receive(forged_move(bob, pb, grab))
    deliver(pb.acknowledge(), pa)
    with pytest.raises(e.PaymentReversed):
        pb.receive(forged_move(alice, pa, VariablePart((ETHER, ETHER), b"", pb.turn_num + 1)))


# --- turns and signatures --------------------------------------------------------------------------

def test_a_move_out_of_turn_is_refused(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    with pytest.raises(e.NotYourTurn):
        pb.play(ROCK)  # turn 2 is alice's
    commit, _, _ = rps_move(pa.latest, play=ROCK)
    before = snapshot(pa)
    with pytest.raises(e.NotMover):  # bob signs alice's turn himself
        pa.receive(forged_move(bob, pb, commit))
    assert snapshot(pa) == before
    deliver(pa.play(ROCK), pb)
    pa.challenge()
    played, _, _ = rps_move(pa.latest, play=PAPER)
    with pytest.raises(TransactionReverted, match="NotMover"):  # alice answers on bob's turn
        chain.transact(contracts["adjudicator"].functions.respond(
            pa.fixed.as_tuple(), pa.latest.as_tuple(), m.signed_tuple(played, [sign(alice, pa, played)])), alice)


@pytest.mark.parametrize("where", ["another channel", "another app", "another chain", "another adjudicator"])
def test_a_signature_from_elsewhere_is_refused(chain, contracts, alice, bob, open_channel, where):
    pa, pb = open_channel(chain, contracts, alice, bob)
    commit, _, _ = rps_move(pa.latest, play=ROCK)
    elsewhere = {
        "another channel": {"channel_id": dataclasses.replace(pa.fixed, channel_nonce=10**9).channel_id},
        "another app": {"channel_id": dataclasses.replace(pa.fixed,
                                                          app_definition=contracts["payment"].address).channel_id},
        "another chain": {"domain": m.Domain(chain.chain_id + 1, pa.domain.adjudicator)},
        "another adjudicator": {"domain": m.Domain(chain.chain_id, contracts["rps"].address)},
    }[where]
    signature = sign(alice, pa, commit, **elsewhere)
    with pytest.raises(e.NotMover):
        pb.receive(m.encode_move(pa.channel_id, commit, signature))
    # On chain: alice's move with that signature, in a proof bob submits.
    proof = [m.signed_tuple(pb.latest, [pb.states[pb.turn_num][1]]), m.signed_tuple(commit, [signature])]
    sig = Signer(bytes(bob.key)).sign(m.challenge_digest(pb.domain, pb.channel_id, commit))
    with pytest.raises(TransactionReverted, match="NotMover"):
        chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), proof, m.sig_tuple(sig)),
                       bob)


def test_a_stranger_cannot_start_a_challenge(chain, contracts, alice, bob, mallory, open_channel):
    pa, _ = open_channel(chain, contracts, alice, bob)
    sig = Signer(bytes(mallory.key)).sign(m.challenge_digest(pa.domain, pa.channel_id, pa.latest))
    with pytest.raises(TransactionReverted, match="ChallengerNotParticipant"):
        chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), pa.proof(),
                                                                    m.sig_tuple(sig)), mallory)


# --- setup states ----------------------------------------------------------------------------------

def test_an_outcome_change_in_a_setup_state_is_refused(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, fund=False)
    fresh = connect(chain, contracts["adjudicator"], dataclasses.replace(pa.fixed, channel_nonce=10**6), "rps",
                    alice)
    opening = VariablePart((ETHER, ETHER), pa.states[0][0].app_data, 0)
    fresh.open(opening.outcome, opening.app_data)
    grab = dataclasses.replace(opening, turn_num=1, outcome=(0, 2 * ETHER))
    before = snapshot(fresh)
    with pytest.raises(e.SetupStateChanged):  # bob's setup state hands him alice's deposit
        fresh.receive(m.encode_move(fresh.channel_id, grab, sign(bob, fresh, grab)))
    assert snapshot(fresh) == before
    opening = pa.states[0][0]
    grab = dataclasses.replace(opening, turn_num=1, outcome=(0, 2 * ETHER))
    proof = [m.signed_tuple(opening, [pa.states[0][1]]), m.signed_tuple(grab, [sign(bob, pb, grab)])]
    sig = Signer(bytes(bob.key)).sign(m.challenge_digest(pb.domain, pb.channel_id, grab))
    with pytest.raises(TransactionReverted, match="SetupStateChanged"):
        chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), proof, m.sig_tuple(sig)),
                       bob)


def test_an_opening_other_than_the_agreed_one_is_refused(chain, contracts, alice, bob):
    fixed = FixedPart((alice.address, bob.address), 77_777, contracts["rps"].address, DURATION)
    pa = connect(chain, contracts["adjudicator"], fixed, "rps", alice)
    pb = connect(chain, contracts["adjudicator"], fixed, "rps", bob)
    app_data = RPSData(Phase.START, STAKE).encode()
    pb.expected_opening = VariablePart((ETHER, ETHER), app_data, 0)
    with pytest.raises(e.SetupStateChanged):  # alice's opening credits her with bob's deposit
        pb.receive(pa.open((2 * ETHER, 0), app_data))
    assert pb.states == {}
    with pytest.raises(e.NothingToDo):
        connect(chain, contracts["adjudicator"], dataclasses.replace(fixed, challenge_duration=0), "rps", alice)
    # On chain too: a challenge that would be final in the block that starts it is refused.
    instant = dataclasses.replace(fixed, challenge_duration=0)
    state = VariablePart((ETHER, ETHER), app_data, 1)
    domain = m.Domain(chain.chain_id, contracts["adjudicator"].address)
    sigs = [m.sign_state(Signer(bytes(a.key)), domain, instant.channel_id, state) for a in (alice, bob)]
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(domain, instant.channel_id, state))
    with pytest.raises(TransactionReverted, match="ZeroChallengeDuration"):
        chain.transact(contracts["adjudicator"].functions.challenge(instant.as_tuple(), [m.signed_tuple(state, sigs)],
                                                                    m.sig_tuple(sig)), alice)


def test_no_move_before_the_outcome_is_held(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, fund=False)
    pa.deposit(ETHER, 0)  # bob has not deposited
    with pytest.raises(e.NotFunded):
        pa.play(ROCK)
    commit, _, _ = rps_move(pa.latest, play=ROCK)
    with pytest.raises(e.NotFunded):
        pb.receive(forged_move(alice, pa, commit))
    pb.deposit(ETHER, ETHER)
    deliver(pa.play(ROCK), pb)  # funded now: the game starts
    assert pb.turn_num == 2


# --- final states, conclusion, payout --------------------------------------------------------------

def test_a_final_state_cannot_be_reverted(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    finalish = dataclasses.replace(pa.latest, turn_num=pa.turn_num + 1, is_final=True)
    with pytest.raises(e.FinalStateNeedsAllSignatures):  # a single mover may not make a state final
        pb.receive(forged_move(alice, pa, finalish))
    conclude_together([pa, pb])
    with pytest.raises(e.FinalStateCannotChange):  # off chain: no move after signing a final state
        pa.play(ROCK)
    final = pa.final[0]
    after = VariablePart(final.outcome, final.app_data, final.turn_num + 1)
    mover = {0: alice, 1: bob}
    proof = [m.signed_tuple(final, [sign(mover[final.turn_num % 2], pa, final)]),
             m.signed_tuple(after, [sign(mover[after.turn_num % 2], pa, after)])]
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(pa.domain, pa.channel_id, after))
    with pytest.raises(TransactionReverted, match="FinalStateCannotChange"):
        chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), proof, m.sig_tuple(sig)),
                       alice)


def test_a_challenge_after_conclusion_is_refused(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(PAPER), pa)
    conclude_together([pa, pb])
    pb.conclude()
    for attempt in (pa.challenge, pa.checkpoint, pa.conclude):
        with pytest.raises(TransactionReverted, match="ChannelFinalized"):
            attempt()
    with pytest.raises(TransactionReverted, match="ChannelFinalized"):
        pa.deposit(1, 0)


def test_a_payout_cannot_be_taken_twice(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    conclude_together([pa, pb])
    pa.conclude(transfer=False)
    final = pa.final[0]
    pa.transfer(final, final.outcome)
    assert pa.held() == 0
    with pytest.raises(TransactionReverted, match="FingerprintMismatch"):
        pb.transfer(final, final.outcome)
    before = chain.balance(contracts["adjudicator"].address)
    pb.transfer(final, (0, 0))  # what is still owed: nothing, and nothing is paid
    assert chain.balance(contracts["adjudicator"].address) == before


def test_an_underfunded_channel_pays_in_participant_order_and_the_rest_later(chain, contracts, alice, bob,
                                                                            open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, deposits=(ETHER, ETHER), fund=False)
    pa.deposit(ETHER, 0)  # bob never deposits his share
    conclude_together([pa, pb])
    pa.conclude(transfer=False)
    final = pa.final[0]
    pa.transfer(final, final.outcome)
    assert pa.held() == 0
    with pytest.raises(TransactionReverted, match="ChannelFinalized"):  # a finalized channel takes no deposit
        pb.deposit(ETHER, 0)


def test_payout_and_respond_wait_for_their_moment(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    with pytest.raises(TransactionReverted, match="NoOngoingChallenge"):
        pa.respond(pa.latest, pa.latest)
    pa.challenge()
    state = pa.supported()[0]
    with pytest.raises(TransactionReverted, match="ChannelNotFinalized"):
        pa.transfer(state, state.outcome)
    chain.advance_time(DURATION)
    move = pa.next_move()  # alice's commit, too late
    assert move is None  # a new round is not worth answering; and past the deadline nothing is
    commit, _, _ = rps_move(state, play=ROCK)
    with pytest.raises(TransactionReverted, match="ChannelFinalized"):
        chain.transact(contracts["adjudicator"].functions.respond(
            pa.fixed.as_tuple(), state.as_tuple(), m.signed_tuple(commit, [sign(alice, pa, commit)])), alice)


def test_a_deposit_must_expect_what_the_channel_holds(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, fund=False)
    pa.deposit(ETHER, 0)
    with pytest.raises(TransactionReverted, match="HeldMismatch"):
        pb.deposit(ETHER, 0)  # bob thinks nobody has deposited yet: refused, not double-funded
    with pytest.raises(TransactionReverted, match="WrongEthValue"):
        chain.transact(contracts["adjudicator"].functions.deposit(pa.fixed.asset, pa.channel_id, ETHER, 5), bob,
                       value=4)
