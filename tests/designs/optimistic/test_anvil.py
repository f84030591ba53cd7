"""Against a real JSON-RPC node (anvil): a full round, and a sequencer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from l2.designs.optimistic.sequencer import Sequencer, encode_submission
from l2.designs.optimistic.txs import Transfer, sign
from l2.l1.compiler import PROJECT_ROOT

WORKER = Path(__file__).with_name("sequencer_worker.py")


def test_full_round_on_anvil(anvil_env, tmp_path):
    env = anvil_env
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**19, 1)
    env.rollup.deposit_eth(env.proposer, 10**18)
    seq.sync_queue()
    alice.transfer(bob.address, 10**17)
    bob.transfer(alice.address, 10**18, 1)
    alice.withdraw(10**17)
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    # the same operator turns faulty: caught and slashed over JSON-RPC too
    seq.close()
    faulty = env.sequencer(tmp_path, fault="print_money")
    env.wallets(faulty)[1].transfer(alice.address, 10**17, 1)
    faulty.post_batch()
    (fraud,) = verifier.sync()
    assert fraud.receipt is not None and env.rollup.batch_count() == 1
    env.finalize()
    (claim,) = verifier.claimables(alice.address)
    before = env.chain.balance(alice.address)
    verifier.claim(env.challenger, claim)
    assert env.chain.balance(alice.address) == before + 10**17


def test_sequencer_killed_with_sigkill_loses_no_accepted_transaction(anvil_env, tmp_path):
    env = anvil_env
    alice, bob = env.users[:2]
    env.rollup.deposit_eth(alice, 10**18)
    env.rollup.deposit_eth(bob, 10**18)
    db = tmp_path / "seq.db"
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), env.chain.url, env.rollup.address, str(db)],
        cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert worker.stdout.readline().strip() == "ready"
        acked = 0
        for nonce in range(20):
            tx = sign(Transfer(0, 1, 0, 10**15), alice.key, env.rollup.domain, nonce)
            worker.stdin.write(encode_submission(tx).hex() + "\n")
            worker.stdin.flush()
            assert worker.stdout.readline().startswith("ok")
            acked += 1
        # one more written but never acknowledged: it may or may not survive, nothing acked may be lost
        tx = sign(Transfer(0, 1, 0, 10**15), alice.key, env.rollup.domain, 20)
        worker.stdin.write(encode_submission(tx).hex() + "\n")
        worker.stdin.flush()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    restarted = Sequencer(env.rollup, env.proposer, db)
    nonce = restarted.state.account(0).nonce
    assert nonce in (acked, acked + 1)
    restarted.post_batch()
    assert env.rollup.tip_root() == restarted.state.root
    verifier = env.verifier()
    assert verifier.sync() == []
    assert verifier.state.account(0).nonce == nonce


def test_restart_never_posts_a_batch_twice(anvil_env, tmp_path, monkeypatch):
    env = anvil_env
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    seq.sync_queue()
    seq.post_batch()
    # crash after the L1 transaction but before the local "posted" mark
    seq.db.execute("UPDATE batches SET status='built'")
    seq.close()
    again = env.sequencer(tmp_path)
    again.recover()
    assert env.rollup.batch_count() == 1 and again.posted_batches() == 1
    # crash after the local "built" commit but before the L1 transaction
    alice2 = env.wallets(again)[0]
    alice2.transfer(bob.address, 10**16)

    class Crash(BaseException):
        pass

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(again.rollup, "submit_batch", crash)
    try:
        again.post_batch()
    except Crash:
        pass
    monkeypatch.undo()
    again.close()
    third = env.sequencer(tmp_path)
    third.recover()
    assert env.rollup.batch_count() == 2 and third.posted_batches() == 2
    third.recover()
    assert env.rollup.batch_count() == 2
    assert env.verifier().sync() == []
