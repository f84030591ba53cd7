"""The watcher acts on its own: it answers a stale challenge, answers a challenge on its turn with its
move, challenges a silent opponent after its patience runs out, and pays out a final channel."""

from __future__ import annotations

from l2.core.crypto import Signer
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import deliver
from l2.designs.statechannels.rules import (
    PAPER,
    ROCK,
    OnChain,
    SubmitChallenge,
    SubmitCheckpoint,
    SubmitRespond,
    SubmitTransfer,
    VariablePart,
    decide,
)
from l2.designs.statechannels.watcher import StateChannelWatcher

from .conftest import DURATION, ETHER, STAKE


def test_the_watcher_answers_a_stale_challenge_with_a_checkpoint(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    stale_proof, stale = pa.proof(), pa.supported()[0]
    deliver(pb.play(PAPER), pa)
    deliver(pa.play(), pb)
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(pa.domain, pa.channel_id, stale))
    chain.transact(contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), stale_proof, m.sig_tuple(sig)),
                   alice)
    watcher = StateChannelWatcher(pb, name="bob's watcher")
    events = watcher.step()
    assert watcher.actions == ["checkpoint"] and "checkpointed turn 4" in str(events[0])
    assert watcher.step() == []  # nothing more to do: the channel is open again


def test_the_watcher_answers_a_challenge_on_its_turn_with_its_move(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    pa.challenge()  # bob must play now, on chain if need be
    watcher = StateChannelWatcher(pb)
    watcher.step()
    assert watcher.actions == ["respond"]
    record = chain.call(contracts["adjudicator"].functions.channelRecord(pa.channel_id))
    assert record[0] == 3 and record[1] == 0  # bob's move is recorded and the challenge is gone
    (responded,) = contracts["adjudicator"].events.Responded().get_logs(from_block=0)
    move = responded.args.state
    assert VariablePart(tuple(move.outcome), bytes(move.appData), move.turnNum, move.isFinal) == pb.latest
    # Alice's watcher learns bob's move from Layer 1, and the game goes on off-chain from it.
    events = StateChannelWatcher(pa, name="alice's watcher").step()
    assert pa.latest == pb.latest and "learned turn 3" in str(events[0])
    deliver(pa.play(), pb)  # alice reveals
    assert pb.turn_num == 4


def test_a_silent_opponent_is_challenged_then_paid_out_by_the_watcher(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(PAPER), pa)  # alice lost the round and goes silent instead of revealing
    watcher = StateChannelWatcher(pb, patience=30, name="bob's watcher")
    assert watcher.step() == []  # not yet: alice may just be slow
    chain.advance_time(30)
    watcher.step()
    assert watcher.actions == ["challenge"]
    chain.advance_time(DURATION)
    before = chain.balance(bob.address)
    with chain.record() as txs:
        watcher.step()
    assert watcher.actions == ["challenge", "transfer"]
    assert chain.balance(bob.address) == before + ETHER + STAKE - txs[0].fee_wei
    assert watcher.step() == []  # paid: nothing is owed any more


def test_decide_alone():
    state = VariablePart((5, 5), b"", 4)
    newer = VariablePart((3, 7), b"", 6)
    assert decide(OnChain(4, 200, 10, state), newer, 1, 2, now=100) == [SubmitCheckpoint(newer)]
    move = VariablePart((5, 5), b"", 5)
    assert decide(OnChain(4, 200, 10, state), state, 1, 2, now=100, our_move=move) == [SubmitRespond(state, move)]
    assert decide(OnChain(4, 200, 10, state), state, 0, 2, now=100, our_move=move) == []  # not our turn there
    assert decide(OnChain(4, 200, 10, state), state, 1, 2, now=300) == []  # final, nothing owed known
    assert decide(OnChain(4, 200, 10, state, (5, 5)), state, 1, 2, now=300) == [SubmitTransfer((5, 5))]
    assert decide(OnChain(4, 200, 0, state, (5, 5)), state, 1, 2, now=300) == []  # nothing held
    assert decide(OnChain(0, 0, 10), state, 1, 2, now=100, waiting_since=80, patience=30) == []
    assert decide(OnChain(0, 0, 10), state, 1, 2, now=110, waiting_since=80, patience=30) == [SubmitChallenge(state)]


def test_a_payee_s_watcher_answers_a_challenge_with_its_acknowledgement(chain, contracts, alice, bob,
                                                                       open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob, app="payment", deposits=(ETHER, 0))
    deliver(pa.pay(10**17), pb)
    pa.challenge()  # on bob's turn: he must acknowledge, or the channel ends here (which pays him anyway)
    watcher = StateChannelWatcher(pb)
    watcher.step()
    assert watcher.actions == ["respond"] and pb.turn_num == 3
    record = chain.call(contracts["adjudicator"].functions.channelRecord(pa.channel_id))
    assert record[0] == 3 and record[1] == 0
    payers = StateChannelWatcher(pa)
    assert [str(ev) for ev in payers.step()] == ["[watcher] learned turn 3, answered on Layer 1 by the opponent"]
    assert payers.actions == [] and pa.turn_num == 3  # it takes bob's acknowledgement and has nothing to answer
