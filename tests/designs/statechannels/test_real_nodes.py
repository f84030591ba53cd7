"""The dispute paths on each real node over JSON-RPC (anvil, the Hardhat node): a stale challenge answered by
the watcher, a challenge answered with a move, a silent loser forced by timeout and paid out, a conclusion in
one call, a virtual channel that survives a silent hub."""

from __future__ import annotations

import pytest

from l2.core.crypto import Signer
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import PAPER, ROCK, SCISSORS, FixedPart
from l2.designs.statechannels.virtual import Hub, LedgerWatcher, fund_virtual, open_ledger
from l2.designs.statechannels.watcher import StateChannelWatcher
from l2.errors import TransactionReverted

from .conftest import DURATION, ETHER, STAKE
from .conftest import open_channel as open_on


@pytest.fixture
def game(node_chain, node_contracts):
    alice, bob = node_chain.accounts[1], node_chain.accounts[2]
    return (*open_on(node_chain, node_contracts, alice, bob), alice, bob)


def test_a_stale_challenge_is_checkpointed_by_the_watcher_on_a_real_node(node_chain, node_contracts, game):
    pa, pb, alice, _ = game
    deliver(pa.play(ROCK), pb)
    stale_proof, stale = pa.proof(), pa.supported()[0]
    deliver(pb.play(PAPER), pa)
    deliver(pa.play(), pb)
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(pa.domain, pa.channel_id, stale))
    node_chain.transact(node_contracts["adjudicator"].functions.challenge(pa.fixed.as_tuple(), stale_proof,
                                                                            m.sig_tuple(sig)), alice)
    watcher = StateChannelWatcher(pb)
    watcher.step()
    assert watcher.actions == ["checkpoint"]
    node_chain.advance_time(DURATION)
    assert pb.onchain().status(node_chain.now()) == "open"


def test_a_challenge_is_answered_with_a_move_on_a_real_node(node_chain, game):
    pa, pb, _, _ = game
    deliver(pa.play(SCISSORS), pb)
    pa.challenge()
    watcher = StateChannelWatcher(pb)
    watcher.step()
    assert watcher.actions == ["respond"] and pb.onchain().status(node_chain.now()) == "open"


def test_a_silent_loser_is_forced_by_timeout_and_paid_out_on_a_real_node(node_chain, game):
    pa, pb, _, bob = game
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(PAPER), pa)
    watcher = StateChannelWatcher(pb, patience=20)
    node_chain.advance_time(20)
    watcher.step()
    node_chain.advance_time(DURATION)
    before = node_chain.balance(bob.address)
    with node_chain.record() as txs:
        watcher.step()
    assert watcher.actions == ["challenge", "transfer"]
    assert node_chain.balance(bob.address) == before + ETHER + STAKE - txs[0].fee_wei
    with pytest.raises(TransactionReverted, match="ChannelFinalized"):
        pa.challenge()


def test_a_conclusion_pays_both_in_one_call_on_a_real_node(node_chain, game):
    pa, pb, alice, _ = game
    conclude_together([pa, pb])
    before = node_chain.balance(alice.address)
    pb.conclude()
    assert node_chain.balance(alice.address) == before + ETHER and pa.held() == 0


def test_a_virtual_channel_survives_a_silent_hub_on_a_real_node(node_chain, node_contracts):
    alice, bob, hub = node_chain.accounts[1], node_chain.accounts[2], node_chain.accounts[4]
    adj, app = node_contracts["adjudicator"], node_contracts["ledger"]
    nonce = node_chain.now() * 1000
    a_end, hub_a = open_ledger(node_chain, adj, app, alice, hub, (ETHER, ETHER), nonce, DURATION)
    hub_b, b_end = open_ledger(node_chain, adj, app, hub, bob, (ETHER, ETHER), nonce + 1, DURATION)
    fixed = FixedPart((alice.address, bob.address), nonce + 2, node_contracts["payment"].address, DURATION)
    va, vb = (connect(node_chain, adj, fixed, "payment", who) for who in (alice, bob))
    setup([va, vb], (ETHER // 2, 0))
    hub = Hub(hub_a, hub_b, payment_app=node_contracts["payment"].address, max_challenge_duration=DURATION)
    fund_virtual(a_end, hub, b_end, va, vb)
    deliver(va.pay(10**17), vb)
    deliver(vb.acknowledge(), va)
    # The hub goes silent: bob ends V and his ledger alone; his ledger watcher collects.
    vb.challenge()
    b_end.challenge()
    node_chain.advance_time(DURATION)
    watcher = LedgerWatcher(b_end, {va.channel_id: vb})
    before = node_chain.balance(bob.address)
    with node_chain.record() as txs:
        watcher.step()
    assert watcher.actions == ["transfer", "claim"]
    assert node_chain.balance(bob.address) == before + ETHER + 10**17 - sum(t.fee_wei for t in txs)
