"""Censorship resistance: queued deposits and forced withdrawals must be included; proposing opens up."""

from __future__ import annotations

import pytest

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic.state import GENESIS_ROOT, State, apply
from l2.designs.optimistic.txs import Transfer, sign
from l2.errors import TransactionReverted


def test_overdue_deposit_blocks_a_batch_that_leaves_it_out(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    seq.sync_queue()
    seq.post_batch()
    bob.deposit(10**18)  # the sequencer "does not see" this one
    env.chain.advance_time(env.rollup.inclusion_window + 1)
    # a batch with only alice's transfer, leaving bob's deposit queued
    state = seq.state
    tx = sign(Transfer(0, 0 + 1, 0, 1), alice.account.key, env.rollup.domain, 0)
    chunks = batch_mod.make_chunks([(tx.encode(), b"\x01" * 32)], 1)
    with pytest.raises(TransactionReverted, match="QueueEntryOverdue"):
        env.rollup.submit_batch(env.proposer, state.root, 1, data := batch_mod.encode(chunks),
                                env.rollup.l1_queue_hash(data))
    # the honest path includes it
    seq.sync_queue()
    seq.post_batch()
    assert env.verifier().sync() == []
    assert seq.state.account(seq.state.index_of(bob.address)).balances[0] == 10**18


def test_forced_withdrawal_gets_through_and_is_claimed(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice = env.wallets(seq)[0]
    alice.deposit(10**18)
    seq.sync_queue()
    seq.post_batch()
    alice.force_withdrawal(4 * 10**17)  # on L1: the sequencer cannot leave it out past the window
    seq.sync_queue()
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    (claim,) = verifier.claimables(alice.address)
    assert claim.entry is not None and claim.amount == 4 * 10**17
    env.finalize()
    before = env.chain.balance(alice.address)
    verifier.claim(env.challenger, claim)
    assert env.chain.balance(alice.address) == before + 4 * 10**17
    assert alice.balance() == 6 * 10**17


def test_forced_withdrawal_of_someone_elses_account_withdraws_nothing(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, mallory = env.wallets(seq)[:2]
    alice.deposit(10**18)
    seq.sync_queue()
    env.rollup.request_forced_withdrawal(mallory.account, 0, 0, 10**18)
    seq.sync_queue()
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    assert verifier.claimables() == []
    assert alice.balance() == 10**18


def test_anyone_bonded_may_propose_once_the_sequencer_is_silent(env, tmp_path):
    backup = env.users[3]
    env.rollup.deposit_bond(backup, 10**18)
    env.rollup.deposit_eth(env.users[0], 10**17)
    state, _ = apply(State(), _queue_op(env), env.rollup.domain)
    op = _queue_op(env)
    chunks = batch_mod.make_chunks([(op.encode(), state.root)], 0)
    with pytest.raises(TransactionReverted, match="SequencerStillActive"):
        env.rollup.submit_batch(backup, GENESIS_ROOT, 1, data := batch_mod.encode(chunks),
                                env.rollup.l1_queue_hash(data))
    env.chain.advance_time(env.rollup.inclusion_window + 1)
    env.rollup.submit_batch(backup, GENESIS_ROOT, 1, data := batch_mod.encode(chunks), env.rollup.l1_queue_hash(data))
    assert env.rollup.tip_root() == state.root
    assert env.verifier().sync() == []


def _queue_op(env):
    from l2.designs.optimistic.state import queue_op_for

    (entry,) = env.rollup.queue_entries()
    return queue_op_for(State(), entry)
