"""A game of rock-paper-scissors from opening to payout: cooperative, and by timeout."""

from __future__ import annotations

from l2.designs.statechannels.party import conclude_together, deliver
from l2.designs.statechannels.rules import PAPER, ROCK, SCISSORS

from .conftest import DURATION, ETHER, STAKE


def play_round(pa, pb, play_a, play_b):
    deliver(pa.play(play_a), pb)  # A commits
    deliver(pb.play(play_b), pa)  # B plays in the clear
    deliver(pa.play(), pb)  # A reveals what it committed to
    deliver(pb.play(), pa)  # B starts the next round


def test_a_whole_game_off_chain_then_one_conclude_pays_both(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    play_round(pa, pb, ROCK, SCISSORS)  # alice wins
    play_round(pa, pb, ROCK, PAPER)  # bob wins
    play_round(pa, pb, PAPER, ROCK)  # alice wins
    assert pa.latest == pb.latest and pa.latest.outcome == (ETHER + STAKE, ETHER - STAKE)
    before = chain.balance(alice.address), chain.balance(bob.address)
    conclude_together([pa, pb])
    receipt = pb.conclude()
    assert chain.balance(alice.address) == before[0] + ETHER + STAKE
    assert chain.balance(bob.address) + receipt.gasUsed * receipt.effectiveGasPrice == before[1] + ETHER - STAKE
    assert pa.held() == 0


def test_a_silent_loser_is_forced_by_timeout(chain, contracts, alice, bob, open_channel):
    pa, pb = open_channel(chain, contracts, alice, bob)
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(PAPER), pa)  # alice would lose: she stays silent instead of revealing
    pb.challenge()
    chain.advance_time(DURATION)
    onchain = pb.onchain()
    assert onchain.status(chain.now()) == "final" and onchain.owed == (ETHER - STAKE, ETHER + STAKE)
    pb.transfer(onchain.recorded, onchain.owed)
    assert pb.held() == 0
