"""A sequencer whose batches left Layer 1 (reverted by a fraud proof, or posted over by another
proposer) rebuilds from Layer 1 and goes on posting honest batches that finalize and pay
(ported from the previous format's test_recovery.py; the journal's own crash tests are in test_sequencer.py)."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.encoding import Transfer
from l2.runtime.service import run_round

from .conftest import Forger

ETHER = 10**18


class Crash(BaseException):
    """Stands for the process dying at that line: nothing after it runs, no handler catches it."""


def _crash(*args, **kwargs):
    raise Crash()


def _caught_faulty_batch(env, tmp_path, fault):
    """Deposits and an honest batch, then a faulty one (a transfer and a withdrawal in it) that a checker
    proves; returns (sequencer, checker, the wallets)."""
    sequencer = env.sequencer(tmp_path)
    alice, bob, carol = env.wallets(sequencer)
    for wallet in (alice, bob, carol):
        wallet.deposit(ETHER)
    run_round([sequencer], urgent=True)
    alice.transfer(bob.address, 10**17)
    run_round([sequencer], urgent=True)
    checker = env.checker()
    run_round([checker])
    sequencer.fault = fault
    alice.transfer(carol.address, 10**16)
    bob.withdraw(10**16)
    run_round([sequencer], urgent=True)
    events = run_round([checker])
    assert f"the {'signature' if fault == 'bad_signature' else 'transition'} proof" in events[-1].text
    assert env.client.bond(env.proposer.address) == 0 and env.client.batch_count() == 2
    return sequencer, checker, (alice, bob, carol)


@pytest.mark.parametrize("fault", ["wrong_root", "bad_signature"])
def test_a_slashed_sequencer_recovers_and_its_next_batch_finalizes_and_pays(rollup_env, tmp_path, fault):
    env = rollup_env
    sequencer, checker, (alice, bob, carol) = _caught_faulty_batch(env, tmp_path, fault)
    assert sequencer.fault is None  # one faulty commitment: it is honest again
    events = run_round([sequencer])
    assert "2 reverted transfer(s) admitted again, 0 dropped" in events[0].text
    assert "bond topped up" in events[1].text and "posted batch #2" in events[2].text
    assert sequencer.db.execute("SELECT readmitted, dropped FROM resyncs").fetchall() == [(2, 0)]
    assert sequencer.pending_count() == 0
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.state.root == sequencer.tip.root == env.client.tip_root()
    (claim,) = checker.claimables(bob.address)
    assert claim.amount == 10**16 and not checker.is_final(claim)
    env.finalize()
    before = env.chain.balance(bob.address)
    checker.claim(env.challenger, claim)
    assert env.chain.balance(bob.address) == before + 10**16
    assert run_round([sequencer], urgent=True) == [] and env.client.batch_count() == 3
    assert sequencer.db.execute("SELECT COUNT(*) FROM resyncs").fetchone() == (1,)
    sequencer.close()


def test_a_restart_in_the_middle_of_a_resync_resyncs_once_and_posts_once(rollup_env, tmp_path, monkeypatch):
    env = rollup_env
    sequencer, checker, _ = _caught_faulty_batch(env, tmp_path, "wrong_root")
    monkeypatch.setattr(sequencer.store, "transaction", _crash)  # dies before the resync's rewrite commits
    with pytest.raises(Crash):
        sequencer.step()
    monkeypatch.undo()
    sequencer.close()
    again = env.sequencer(tmp_path)
    assert again.pending_count() == 2 and again.last_resync["readmitted"] == 2
    run_round([again])
    run_round([again])
    assert env.client.batch_count() == 3
    assert again.db.execute("SELECT COUNT(*) FROM resyncs").fetchone() == (1,)
    assert again.db.execute("SELECT status, COUNT(*) FROM transfers GROUP BY status").fetchall() == [("posted", 3)]
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.state.root == again.tip.root == env.client.tip_root()
    again.close()


def _posted_over(env, tmp_path, monkeypatch):
    """The sequencer acknowledges alice's transfer (nonce 0) and bob's, and dies before posting; it stays
    down past the inclusion window, and a backup proposer posts another transfer of alice's with the same
    nonce (she signed two). A deposit waits in the queue. Returns the restarted sequencer."""
    sequencer = env.sequencer(tmp_path)
    alice, bob, carol = env.wallets(sequencer)
    for wallet in (alice, bob, carol):
        wallet.deposit(ETHER)
    run_round([sequencer], urgent=True)
    alice.transfer(bob.address, 10**17)
    bob.transfer(carol.address, 2 * 10**17)
    monkeypatch.setattr(sequencer.client, "submit_batch", _crash)
    with pytest.raises(Crash):
        run_round([sequencer], urgent=True)
    monkeypatch.undo()
    sequencer.close()
    backup = env.users[2]
    env.client.deposit_bond(backup, 10**18)
    env.chain.advance_time(env.client.contract.functions.inclusionWindow().call() + 1)
    forger = Forger(env)
    conflicting, _ = forger.transfers(forger.tip(), [Transfer(2, 4, 3 * 10**17)])
    forger.post([conflicting], proposer=backup)
    env.client.deposit_eth(carol.account, 10**17)  # queued on Layer 1, not consumed by the backup
    return env.sequencer(tmp_path)


def test_a_batch_of_another_proposer_is_adopted_and_posted_on(rollup_env, tmp_path, monkeypatch):
    env = rollup_env
    sequencer = _posted_over(env, tmp_path, monkeypatch)
    assert sequencer.pending_count() == 1  # bob's; alice's nonce 0 is taken on Layer 1
    (posted,) = run_round([sequencer], urgent=True)
    assert "1 queue entry and 1 transfer in 1 commitment" in posted.text and env.client.batch_count() == 3
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    state = checker.state
    assert state.root == sequencer.tip.root == env.client.tip_root()
    assert state.account(4).balance == ETHER + 3 * 10**17 + 2 * 10**17 + 10**17  # carol
    assert (state.account(2).nonce, state.account(3).nonce) == (1, 1)
    reopened = env.sequencer(tmp_path, name="sequencer.db")  # the journal replays to the same state
    assert reopened.tip.root == sequencer.tip.root and reopened.pending_count() == 0


def test_a_transfer_whose_nonce_another_proposer_used_is_dropped_not_marked_posted(rollup_env, tmp_path,
                                                                                 monkeypatch):
    """Alice's acknowledged transfer never reached Layer 1: another with her nonce did. The journal must
    say it was dropped (and why), not that it was posted."""
    sequencer = _posted_over(rollup_env, tmp_path, monkeypatch)
    rows = sequencer.db.execute("SELECT status, reason FROM transfers ORDER BY seq").fetchall()
    assert rows[0] == ("dropped", "account 2's nonce 0 went to another transfer on Layer 1"), rows
    assert rows[1][0] == "pending" and sequencer.last_resync["dropped"] == 1
    run_round([sequencer], urgent=True)  # bob's is posted: Layer 1 holds that very transfer
    rows = sequencer.db.execute("SELECT status FROM transfers ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["dropped", "posted"]
    reopened = rollup_env.sequencer(tmp_path, name="sequencer.db")  # and a resync keeps it so
    assert reopened.last_resync["on_layer_1"] == 1 and reopened.pending_count() == 0
