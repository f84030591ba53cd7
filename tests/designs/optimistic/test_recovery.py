"""A sequencer whose batches left Layer 1 (reverted by a fraud proof, or posted over by another
proposer) rebuilds from L1, re-queues what is still valid and goes on posting honest batches."""

from __future__ import annotations

import logging

import pytest

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic.errors import BatchStateMismatch
from l2.designs.optimistic.faults import FAULTS
from l2.designs.optimistic.state import apply
from l2.designs.optimistic.txs import Transfer, sign

from .conftest import fund_for_faults


def _caught_faulty_batch(env, tmp_path, fault):
    """An honest batch 0, then a faulty batch 1 that the verifier proves; returns (sequencer, verifier)."""
    honest = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, honest)
    alice.transfer(bob.address, 10**17)
    honest.post_batch()
    honest.close()
    faulty = env.sequencer(tmp_path, fault=fault)
    if fault == "skip_deposit":
        env.rollup.deposit_eth(env.users[2], 3 * 10**17)
    faulty.sync_queue()
    env.wallets(faulty)[0].transfer(bob.address, 10**16)
    env.wallets(faulty)[1].withdraw(10**16)
    faulty.post_batch()
    verifier = env.verifier()
    (fraud,) = verifier.sync()
    assert fraud.receipt is not None and env.rollup.fn.bonds(env.proposer.address).call() == 0
    assert env.rollup.batch_count() == 1
    return faulty, verifier


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_slashed_sequencer_recovers_and_posts_a_valid_batch_that_finalizes(env, tmp_path, fault):
    seq, verifier = _caught_faulty_batch(env, tmp_path, fault)
    assert seq.fault is None  # one faulty batch per run: it is honest again
    seq.ensure_bond()
    pending = seq.pending_count()
    receipt = seq.post_batch()  # resyncs first, then posts the re-queued transactions
    assert receipt is not None and env.rollup.batch_count() == 2
    (recovery,) = seq.db.execute("SELECT reverted, requeued, dropped FROM recoveries").fetchall()
    assert recovery[0] == "2" and recovery[2] == 0
    assert recovery[1] == 2  # alice's transfer and bob's withdrawal of the reverted batch
    assert seq.db.execute("SELECT status FROM batches ORDER BY id").fetchall() == [("posted",), ("reverted",),
                                                                                   ("posted",)]
    assert pending == 0 and seq.pending_count() == 0
    assert verifier.sync() == []
    assert verifier.state.root == seq.state.root == env.rollup.tip_root()
    assert [c.amount for c in verifier.claimables(env.users[1].address)] == [10**16]
    env.finalize()
    assert verifier.is_final(1)
    verifier.claim(env.challenger, verifier.claimables(env.users[1].address)[0])
    seq.recover()
    assert env.rollup.batch_count() == 2 and seq.db.execute("SELECT COUNT(*) FROM recoveries").fetchone()[0] == 1


def test_restart_mid_recovery_recovers_once_and_posts_once(env, tmp_path, monkeypatch):
    seq, verifier = _caught_faulty_batch(env, tmp_path, "wrong_root")
    seq.ensure_bond()

    class Crash(BaseException):
        pass

    def crash():
        raise Crash()

    monkeypatch.setattr(seq, "_replay", crash)  # dies after rewriting the log, before COMMIT
    with pytest.raises(Crash):
        seq.post_batch()
    seq.db.close()  # a crash: the open transaction is lost
    again = env.sequencer(tmp_path)
    assert again.db.execute("SELECT COUNT(*) FROM recoveries").fetchone()[0] == 0
    assert again.db.execute("SELECT status FROM batches ORDER BY id").fetchall() == [("posted",), ("posted",)]
    again.post_batch()
    again.recover()
    again.post_batch()
    assert env.rollup.batch_count() == 2 and again.posted_batches() == 2
    assert again.db.execute("SELECT COUNT(*) FROM recoveries").fetchone()[0] == 1
    assert verifier.sync() == [] and verifier.state.root == again.state.root == env.rollup.tip_root()


def test_batch_of_another_proposer_is_adopted_and_conflicting_transactions_dropped(env, tmp_path, monkeypatch,
                                                                                   caplog):
    seq = env.sequencer(tmp_path)
    alice, bob, carol = env.wallets(seq)[:3]
    for wallet in (alice, bob, carol):
        wallet.deposit(10**18)
    seq.sync_queue()
    seq.post_batch()
    alice.transfer(bob.address, 10**17)  # nonce 0: the other proposer will spend it first
    bob.transfer(carol.address, 2 * 10**17)

    class Crash(BaseException):
        pass

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(seq.rollup, "submit_batch", crash)  # the sequencer dies with its batch `built`
    with pytest.raises(Crash):
        seq.post_batch()
    monkeypatch.undo()
    # it stays down past the inclusion window, so another bonded proposer posts alice's other transfer
    backup = env.users[3]
    env.rollup.deposit_bond(backup, 10**18)
    env.chain.advance_time(env.rollup.inclusion_window + 1)
    late = env.chain.accounts[7]
    env.rollup.deposit_eth(late, 10**17)  # queued on L1, not consumed by the other proposer
    view = env.verifier(auto_challenge=False)
    assert view.sync() == []
    state = view.state
    a, c = state.index_of(alice.address), state.index_of(carol.address)
    conflicting = sign(Transfer(a, c, 0, 3 * 10**17), alice.account.key, env.rollup.domain, 0)
    after, _ = apply(state, conflicting, env.rollup.domain)
    chunks = batch_mod.make_chunks([(conflicting.encode(), after.root)], env.rollup.counters()[1])
    env.rollup.submit_batch(backup, state.root, 1, data := batch_mod.encode(chunks), env.rollup.l1_queue_hash(data))

    with caplog.at_level(logging.WARNING, logger="l2.designs.optimistic.sequencer"):
        seq.post_batch()  # recover() sees L1 moved on: adopt, re-queue, drop, then post
    (recovery,) = seq.db.execute("SELECT reverted, adopted, requeued, dropped FROM recoveries").fetchall()
    assert recovery == ("2", "3", 1, 1)
    ((reason,),) = seq.db.execute("SELECT reason FROM dropped").fetchall()
    assert "nonce 0 is not" in reason and "drops transaction" in caplog.text
    assert seq.db.execute("SELECT status FROM batches ORDER BY id").fetchall() == [
        ("posted",), ("reverted",), ("adopted",), ("posted",)]
    assert env.rollup.batch_count() == 3
    assert view.sync() == [] and view.state.root == seq.state.root == env.rollup.tip_root()
    assert seq.state.account(seq.state.index_of(late.address)).balances[0] == 10**17
    assert seq.state.account(c).balances[0] == 10**18 + 3 * 10**17 + 2 * 10**17
    assert seq.state.account(a).nonce == 1
    reopened = env.sequencer(tmp_path, name="seq.db")  # the rewritten log replays to the same state
    assert reopened.state.root == seq.state.root


def test_resync_refuses_to_build_on_an_unchallenged_fraudulent_batch(env, tmp_path):
    seq = env.sequencer(tmp_path, fault="wrong_root")
    fund_for_faults(env, seq)
    seq.post_batch()
    fresh = env.sequencer(tmp_path, name="other.db")  # knows nothing, must rebuild from L1
    with pytest.raises(BatchStateMismatch, match="wait until it is challenged"):
        fresh.recover()
    assert fresh.db.execute("SELECT COUNT(*) FROM log").fetchone()[0] == 0
