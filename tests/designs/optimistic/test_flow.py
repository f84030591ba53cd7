"""The happy path and the bridge's guarantees: deposits, L2 transfers, withdrawals, claims."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.wallet import Wallet
from l2.errors import TransactionReverted

from .conftest import ETH, NOBOOL, TOKEN


def test_deposit_transfer_withdraw_claim_for_eth_and_tokens(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob, carol = env.wallets(seq)[:3]
    alice.deposit(10**18)
    bob.deposit(5 * 10**17)
    alice.deposit(10**20, TOKEN)
    bob.deposit(10**20, NOBOOL)
    seq.sync_queue()
    alice.transfer(bob.address, 10**17, ETH, fee=1000)
    alice.transfer(bob.address, 3 * 10**19, TOKEN)
    bob.transfer(alice.address, 4 * 10**19, NOBOOL)
    bob.withdraw(2 * 10**17, ETH)
    bob.withdraw(10**19, TOKEN, recipient=carol.address)
    alice.withdraw(10**19, NOBOOL)
    receipt = seq.post_batch()
    assert receipt.gasUsed > 0
    assert env.rollup.tip_root() == seq.state.root

    verifier = env.verifier()
    assert verifier.sync() == []
    assert verifier.state.root == seq.state.root
    claims = verifier.claimables()
    assert len(claims) == 3

    with pytest.raises(TransactionReverted, match="BatchNotFinal"):
        verifier.claim(env.challenger, claims[0])
    header = claims[0].header.as_tuple()
    assert env.rollup.fn.isFinal(header).call() is False
    env.finalize()
    assert env.rollup.fn.isFinal(header).call() is True
    before = {
        "bob_eth": env.chain.balance(bob.address),
        "carol_tok": env.token.functions.balanceOf(carol.address).call(),
        "alice_nb": env.nobool.functions.balanceOf(alice.address).call(),
    }
    for claim in claims:
        verifier.claim(env.challenger, claim)
    assert env.chain.balance(bob.address) == before["bob_eth"] + 2 * 10**17
    assert env.token.functions.balanceOf(carol.address).call() == before["carol_tok"] + 10**19
    assert env.nobool.functions.balanceOf(alice.address).call() == before["alice_nb"] + 10**19
    with pytest.raises(TransactionReverted, match="AlreadyClaimed"):
        verifier.claim(env.challenger, claims[0])

    # invariant: the bridge holds exactly the L2 balances plus unclaimed withdrawals (plus bonds)
    state = verifier.state
    bonds = env.rollup.fn.bonds(env.proposer.address).call()
    assert env.chain.balance(env.rollup.address) == state.total(ETH) + bonds
    assert env.token.functions.balanceOf(env.rollup.address).call() == state.total(TOKEN)
    assert env.nobool.functions.balanceOf(env.rollup.address).call() == state.total(NOBOOL)


def test_fees_are_collected_by_the_proposer_and_withdrawn_to_layer_1(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**20, TOKEN)
    env.rollup.deposit_eth(env.proposer, 10**15)  # the proposer's L2 account, where fees are collected
    seq.sync_queue()
    alice.transfer(bob.address, 10**17, ETH, fee=2000 * 10**9)
    bob.transfer(alice.address, 10**19, TOKEN, fee=1500)
    assert len(seq.collect_fees()) == 2
    assert seq.state.fees == (0, 0, 0, 0)
    seq.close()
    seq = env.sequencer(tmp_path)  # the log replays CollectFees with the proposer attached
    assert seq.state.fees == (0, 0, 0, 0) and seq.pending_count() == 7
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == [] and verifier.state.root == seq.state.root
    proposer = Wallet(env.proposer, env.rollup, seq)
    assert (proposer.balance(ETH), proposer.balance(TOKEN)) == (10**15 + 2000 * 10**9, 1500)
    proposer.withdraw(2000 * 10**9, ETH)
    proposer.withdraw(1500, TOKEN)
    seq.post_batch()
    assert verifier.sync() == []
    env.finalize()
    before = env.token.functions.balanceOf(env.proposer.address).call()
    for claim in verifier.claimables(env.proposer.address):
        verifier.claim(env.challenger, claim)
    assert env.token.functions.balanceOf(env.proposer.address).call() == before + 1500
    # invariant: nothing is locked any more - the bridge holds the L2 balances (no fee pool left) + bonds
    state = verifier.state
    bonds = env.rollup.fn.bonds(env.proposer.address).call()
    assert state.fees == (0, 0, 0, 0)
    assert env.chain.balance(env.rollup.address) == state.total(ETH) + bonds
    assert env.token.functions.balanceOf(env.rollup.address).call() == state.total(TOKEN)


@pytest.mark.parametrize("which", ["env", "anvil_env"])
def test_verifier_reads_each_block_once_and_follows_the_chain_back(which, request, tmp_path, monkeypatch):
    env = request.getfixturevalue(which)
    seq = env.sequencer(tmp_path)
    alice, bob, carol = env.wallets(seq)[:3]
    alice.deposit(10**18)
    bob.deposit(10**18)
    seq.sync_queue()
    alice.transfer(bob.address, 10**17)
    seq.post_batch()
    scans = []
    events = env.rollup.events
    monkeypatch.setattr(env.rollup, "events", lambda name, start=0, end="latest": scans.append(start)
                        or events(name, start, end))
    verifier = env.verifier()
    assert verifier.sync() == [] and verifier.state.root == seq.state.root
    assert scans and set(scans) == {0}

    scans.clear()
    assert verifier.sync() == []
    assert scans == []  # no new block: nothing read
    head = env.chain.w3.eth.block_number
    snapshot = env.chain.snapshot()
    carol.deposit(10**18)
    seq.sync_queue()
    bob.transfer(alice.address, 10**17)
    seq.post_batch()
    assert verifier.sync() == [] and len(verifier.verified) == 2
    assert set(scans) == {head + 1}  # only the blocks after the last scan
    assert len(verifier.entries) == 3

    # the chain goes back (a reorg; here a revert) and grows past where the verifier had read
    env.chain.revert(snapshot)
    env.chain.mine(5)
    scans.clear()
    assert verifier.sync() == []
    assert set(scans) == {0}  # the block it had stopped at is gone: everything is read again
    assert len(verifier.verified) == 1 and len(verifier.entries) == 2
    assert verifier.state.root == env.rollup.tip_root()
