"""Every faulty sequencer mode is caught by the independent verifier and slashed; false challenges fail."""

from __future__ import annotations

import pytest

from l2.designs.optimistic import proofs
from l2.designs.optimistic.faults import FAULTS
from l2.errors import TransactionReverted

from .conftest import fund_for_faults


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faulty_batch_is_proven_and_slashed(env, tmp_path, fault):
    honest = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, honest)
    alice.transfer(bob.address, 10**17)
    honest.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    good_root = env.rollup.tip_root()

    honest.close()  # the same operator (same database) turns faulty for its next batch
    faulty = env.sequencer(tmp_path, fault=fault)
    if fault == "skip_deposit":
        env.rollup.deposit_eth(env.users[2], 3 * 10**17)
    faulty.sync_queue()
    env.wallets(faulty)[0].transfer(bob.address, 10**16)
    faulty.post_batch()
    assert env.rollup.batch_count() == 2

    bond = env.rollup.fn.bonds(env.proposer.address).call()
    challenger_before = env.chain.balance(env.challenger.address)
    frauds = verifier.sync()
    assert len(frauds) == 1 and frauds[0].receipt is not None, frauds
    fraud = frauds[0]
    assert fraud.batch_index == 1
    receipt = fraud.receipt
    assert receipt.gasUsed <= 200_000
    event = env.chain.events(receipt, env.rollup.contract, "FraudProven")[0]
    assert event.reward == bond // 2 and event.burned == bond - bond // 2
    assert env.rollup.fn.bonds(env.proposer.address).call() == 0
    assert env.rollup.fn.totalBurned().call() == bond - bond // 2
    assert env.rollup.batch_count() == 1 and env.rollup.tip_root() == good_root
    paid_gas = sum(r.gasUsed * r.effectiveGasPrice for r in (fraud.commit_receipt, receipt))
    assert env.chain.balance(env.challenger.address) == challenger_before + bond // 2 - paid_gas
    assert verifier.sync() == []  # the reverted batch is gone; the verifier is back on the good tip
    assert verifier.state.root == good_root
    # the bridge still holds exactly L2 balances + unclaimed withdrawals + deposits still queued
    # (the reverted batch's deposits are queued again) + bonds + the burned half
    unclaimed = sum(c.amount for c in verifier.claimables() if c.token == 0)
    head = env.rollup.counters()[1]
    queued = sum(e.amount for e in env.rollup.queue_entries(start=head) if e.kind == 0 and e.token == 0)
    assert env.chain.balance(env.rollup.address) == verifier.state.total(0) + unclaimed + queued + bond - bond // 2


def test_false_challenge_is_rejected_and_changes_nothing(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, seq)
    alice.transfer(bob.address, 10**17)
    alice.withdraw(10**16)
    seq.post_batch()
    verifier = env.verifier(auto_challenge=False)
    verifier.sync()
    done = verifier.verified[0]
    from l2.designs.optimistic.state import State, apply

    state = State()
    for position, chunk in enumerate(done.chunks):
        tx = proofs.decode_chunk(chunk, verifier.entries)
        proof = proofs.fraud_proof(done.posted.header, done.chunks, position, state, tx, env.rollup.domain)
        with pytest.raises(TransactionReverted, match="TransitionCorrect"):
            env.rollup.challenge(env.challenger, proof)
        state, _ = apply(state, tx, env.rollup.domain)
    assert env.rollup.batch_count() == 1
    assert env.rollup.fn.bonds(env.proposer.address).call() > 0


def test_claim_from_a_reverted_batch_is_rejected(env, tmp_path):
    seq = env.sequencer(tmp_path, fault="wrong_root")
    alice, bob = fund_for_faults(env, seq)
    alice.withdraw(10**17)
    seq.post_batch()
    spectator = env.verifier(auto_challenge=False)
    spectator.sync()
    assert spectator.frauds and spectator.claimables() == []
    # a claim built from the batch's data (the withdrawal itself was valid) ...
    from l2.designs.optimistic import batch as batch_mod

    posted = spectator.rollup.posted_batch(spectator.standing_batches()[0])
    chunks = batch_mod.split(posted.data, posted.header.queue_start)
    position = next(i for i, c in enumerate(chunks) if c.body[0] == 2)
    verifier = env.verifier()
    assert verifier.sync()[0].receipt is not None
    env.finalize()
    with pytest.raises(TransactionReverted, match="UnknownBatch"):
        env.rollup.claim_withdrawal(env.challenger, posted.header, batch_mod.inclusion(chunks, position))


def test_challenge_after_the_window_is_refused(env, tmp_path):
    seq = env.sequencer(tmp_path, fault="wrong_root")
    fund_for_faults(env, seq)
    seq.post_batch()
    env.finalize()
    frauds = env.verifier().sync()
    assert frauds[0].error == "challenge window is over"


def test_bond_is_locked_while_a_batch_is_pending(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, seq)
    seq.post_batch()
    with pytest.raises(TransactionReverted, match="BondLocked"):
        seq.withdraw_bond()
    env.finalize()
    before = env.chain.balance(env.proposer.address)
    receipt = seq.withdraw_bond()
    assert env.chain.balance(env.proposer.address) == before + 10**18 - receipt.gasUsed * receipt.effectiveGasPrice
    alice.transfer(bob.address, 10**15)
    with pytest.raises(TransactionReverted, match="NotBonded"):
        seq.post_batch()


def test_fraud_reverts_the_batch_and_every_later_one(env, tmp_path):
    from l2.designs.optimistic import batch as batch_mod
    from l2.designs.optimistic.txs import QueueOp

    seq = env.sequencer(tmp_path, fault="wrong_root")
    alice, bob = fund_for_faults(env, seq)
    seq.post_batch()  # batch 0 is already fraudulent (its last root is wrong)
    env.rollup.deposit_eth(env.users[2], 10**17)
    tip = env.rollup.tip_root()
    later = batch_mod.make_chunks([(QueueOp(3, 1).encode(), b"\x42" * 32)], 3)
    env.rollup.submit_batch(env.proposer, tip, 1, data := batch_mod.encode(later),
                            env.rollup.l1_queue_hash(data))  # batch 1 builds on the bad tip
    assert env.rollup.batch_count() == 2
    (fraud,) = env.verifier().sync()
    assert fraud.batch_index == 0 and fraud.receipt is not None
    assert env.rollup.batch_count() == 0
    event = env.chain.events(fraud.receipt, env.rollup.contract, "BatchesReverted")[0]
    assert (event.fromIndex, event.previousCount) == (0, 2)
    assert env.rollup.counters()[1] == 0  # queue head rewound: those deposits must be included again
