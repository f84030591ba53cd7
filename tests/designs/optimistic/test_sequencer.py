"""The sequencer's journal and the wallet: an acknowledged transfer survives any crash (SIGKILL
included, in its own process against anvil), a batch is never posted twice, a fraud proof that reverts
its batches gives their honest transfers back to it, and a user's BLS wallet deposits, pays, withdraws
and forces a withdrawal that Layer 1 pays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from l2.designs.optimistic.errors import SequencerStorageError
from l2.l1.compiler import PROJECT_ROOT
from l2.runtime.service import run_round

ETHER = 10**18
WORKER = Path(__file__).with_name("sequencer_worker.py")


def _funded(env, sequencer, amount=ETHER):
    """Alice, bob and carol deposit (accounts 2, 3, 4); the sequencer posts the queue."""
    wallets = env.wallets(sequencer)
    for w in wallets:
        w.deposit(amount)
    run_round([sequencer], urgent=True)
    return wallets


class Crash(BaseException):
    """Stands for the process dying at that line: nothing after it runs, no handler catches it."""


def test_acknowledged_transfers_survive_a_restart_and_post_once(rollup_env, tmp_path):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, carol = _funded(rollup_env, sequencer)
    for _ in range(3):
        alice.transfer(bob.address, 10**16)
    bob.transfer(carol.address, 10**16)
    carol.withdraw(10**16)
    sequencer.close()  # dies before posting: only the journal knows them

    again = rollup_env.sequencer(tmp_path)
    assert again.pending_count() == 5
    run_round([again], urgent=True)
    checker = rollup_env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert rollup_env.client.tip_root() == again.tip.root
    assert again.tip.account(2).nonce == 3 and again.pending_count() == 0
    posted = again.db.execute("SELECT status, COUNT(*) FROM transfers GROUP BY status").fetchall()
    assert posted == [("posted", 5)]


def test_a_crash_after_the_post_before_the_journal_knows_does_not_post_again(rollup_env, tmp_path, monkeypatch):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, _ = _funded(rollup_env, sequencer)
    alice.transfer(bob.address, 10**16)
    bob.transfer(alice.address, 10**16)
    monkeypatch.setattr(sequencer.store, "transaction", lambda: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        run_round([sequencer], urgent=True)  # the batch is on Layer 1, the journal still says pending
    monkeypatch.undo()
    sequencer.close()
    count = rollup_env.client.batch_count()

    again = rollup_env.sequencer(tmp_path)
    assert again.pending_count() == 0 and again.last_resync["on_layer_1"] == 2
    assert run_round([again], urgent=True) == [] and rollup_env.client.batch_count() == count
    assert again.db.execute("SELECT COUNT(*) FROM transfers WHERE status = 'posted'").fetchone() == (2,)


def test_a_crash_before_the_post_posts_once_after_the_restart(rollup_env, tmp_path, monkeypatch):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, _ = _funded(rollup_env, sequencer)
    alice.transfer(bob.address, 10**16)
    count = rollup_env.client.batch_count()

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(sequencer.client, "submit_batch", crash)
    with pytest.raises(Crash):
        run_round([sequencer], urgent=True)
    monkeypatch.undo()
    sequencer.close()
    again = rollup_env.sequencer(tmp_path)
    run_round([again], urgent=True)
    run_round([again], urgent=True)
    assert rollup_env.client.batch_count() == count + 1
    assert again.tip.account(2).nonce == 1 and again.tip.root == rollup_env.client.tip_root()


def test_a_journal_of_another_rollup_is_refused(rollup_env, tmp_path):
    rollup_env.sequencer(tmp_path).close()
    with sqlite3_connect(tmp_path / "sequencer.db") as db:
        db.execute("UPDATE meta SET value = '1:0x0000000000000000000000000000000000000001' WHERE key = 'rollup'")
    with pytest.raises(SequencerStorageError, match="rollup"):
        rollup_env.sequencer(tmp_path)


def sqlite3_connect(path):
    import sqlite3

    return sqlite3.connect(path)


def test_a_reverted_batch_gives_its_honest_transfers_back(rollup_env, tmp_path):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, carol = _funded(rollup_env, sequencer)
    checker = rollup_env.checker()
    run_round([checker])
    honest_tip = rollup_env.client.tip_root()
    alice.transfer(bob.address, 10**17)
    bob.transfer(carol.address, 10**17)
    sequencer.fault = "wrong_root"
    events = run_round([sequencer, checker], urgent=True)
    assert any("the transition proof" in e.text for e in events) and rollup_env.client.tip_root() == honest_tip
    events = run_round([sequencer, checker], urgent=True)
    assert "2 reverted transfer(s) admitted again, 0 dropped" in events[0].text
    assert "bond topped up" in events[1].text and "posted batch" in events[2].text  # it was slashed
    assert "every root and signature checks" in events[-1].text
    assert sequencer.tip.account(3).balance == ETHER  # bob got 0.1 and paid 0.1
    assert sequencer.db.execute("SELECT readmitted, dropped FROM resyncs").fetchall() == [(2, 0)]


def test_the_sequencer_waits_while_layer_1_holds_its_unproven_fraud(rollup_env, tmp_path):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, _ = _funded(rollup_env, sequencer)
    alice.transfer(bob.address, 10**17)
    sequencer.fault = "bad_signature"
    run_round([sequencer], urgent=True)
    count = rollup_env.client.batch_count()
    sequencer.close()
    restarted = rollup_env.sequencer(tmp_path)  # its replay refuses Layer 1's tip: the transfer is pending again
    assert restarted.pending_count() == 1
    events = run_round([restarted], urgent=True)
    assert "waiting" in events[-1].text and rollup_env.client.batch_count() == count
    run_round([rollup_env.checker()])  # proven: the batch is gone, and the transfer goes out honestly
    events = run_round([restarted], urgent=True)
    assert "posted batch" in events[-1].text
    assert "every root and signature checks" in run_round([rollup_env.checker()])[-1].text


def test_a_wallet_pays_withdraws_and_forces_a_withdrawal_that_layer_1_pays(rollup_env, tmp_path):
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob, carol = _funded(rollup_env, sequencer)
    assert alice.registered() and alice.index() == 2 and bob.index() == 3
    bob.deposit(5 * 10**6, token=1)  # bob's token account
    run_round([sequencer], urgent=True)
    alice.transfer(bob.address, 10**17, fee=10**12)
    alice.withdraw(2 * 10**17)
    bob.transfer(carol.index(), 10**16)
    run_round([sequencer], urgent=True)
    bob.force_withdrawal(5 * 10**6, token=1)
    run_round([sequencer], urgent=True)
    assert alice.balance() == ETHER - 3 * 10**17 - 10**12 and bob.balance(token=1) == 0
    checker = rollup_env.checker()
    run_round([checker])
    paid = checker.claimables()
    assert sorted((c.recipient, c.token, c.amount) for c in paid) == sorted(
        [(alice.address, 0, 2 * 10**17), (bob.address, 1, 5 * 10**6)])
    assert not any(checker.is_final(c) for c in paid)
    rollup_env.finalize()
    eth_before = rollup_env.chain.balance(alice.address)
    token_before = rollup_env.token.functions.balanceOf(bob.address).call()
    for c in paid:
        checker.claim(rollup_env.challenger, c)  # anyone may send the claim: the owner is paid
    assert rollup_env.chain.balance(alice.address) == eth_before + 2 * 10**17
    assert rollup_env.token.functions.balanceOf(bob.address).call() == token_before + 5 * 10**6
    assert all(checker.is_claimed(c) for c in paid)
    from l2.l1.chain import TransactionReverted

    with pytest.raises(TransactionReverted, match="AlreadyClaimed"):
        checker.claim(rollup_env.challenger, paid[0])


def test_a_sequencer_killed_with_sigkill_loses_no_acknowledged_transfer(rollup_anvil_env, tmp_path):
    env = rollup_anvil_env
    sequencer = env.sequencer(tmp_path, name="setup.db")
    alice, bob, _ = _funded(env, sequencer)
    sequencer.close()
    db = tmp_path / "sequencer.db"
    worker = subprocess.Popen([sys.executable, str(WORKER), env.chain.url, env.client.address, str(db)],
                              cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    from l2.designs.optimistic.encoding import Transfer

    def line(nonce):
        tx = Transfer(alice.index(), bob.index(), 10**15)
        return f"{tx.encode().hex()} {nonce} {alice.sign(tx, nonce).hex()}\n"

    acked = 0
    try:
        assert worker.stdout.readline().strip() == "ready"
        for nonce in range(12):
            worker.stdin.write(line(nonce))
            worker.stdin.flush()
            assert worker.stdout.readline().startswith("ok")
            acked += 1
        worker.stdin.write(line(12))  # written, never acknowledged: it may or may not survive
        worker.stdin.flush()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    restarted = env.sequencer(tmp_path)
    assert restarted.pending_count() in (acked, acked + 1)
    run_round([restarted], urgent=True)
    assert env.client.tip_root() == restarted.tip.root
    assert restarted.tip.account(alice.index()).nonce in (acked, acked + 1)
    assert "every root and signature checks" in run_round([env.checker()])[-1].text


def test_token_transfers_go_in_commitments_of_their_token_with_fees_to_its_fee_account(rollup_env, tmp_path):
    from l2.designs.optimistic.errors import UnknownToken

    setup = rollup_env.sequencer(tmp_path, name="setup.db")
    alice, bob, carol = _funded(rollup_env, setup)
    for w in (alice, bob, carol):
        w.deposit(10**9, token=1)
    run_round([setup], urgent=True)
    with pytest.raises(UnknownToken, match="no fee account for it"):
        alice.transfer(bob.address, 10**6, token=1)  # this sequencer takes fees in ETH only
    setup.close()
    fee_account = carol.index(token=1)  # carol runs the sequencer's token desk, say
    sequencer = rollup_env.sequencer(tmp_path, name="tokens.db", fee_receiver={0: 1, 1: fee_account})
    alice, bob, carol = rollup_env.wallets(sequencer)
    alice.transfer(bob.address, 10**6, fee=1000, token=1)
    alice.transfer(bob.address, 10**15, fee=10**12)  # ETH: a commitment of its own
    bob.transfer(alice.address, 10**6, fee=1000, token=1)
    events = run_round([sequencer, rollup_env.checker()], urgent=True)
    assert "3 transfers in 2 commitments" in events[0].text  # one per token: they interleave freely
    assert "every root and signature checks" in events[-1].text
    assert carol.balance(token=1) == 10**9 + 2000 and bob.balance(token=1) == 10**9 - 1000
    assert alice.balance(token=1) == 10**9 - 1000
