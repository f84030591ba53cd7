"""The operator survives crashes: killed with SIGKILL while proving (in its own process, over anvil), or
stopped between posting a batch and clearing its database, it loses no acknowledged transfer and never
posts one twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from l2.designs.zk import babyjub, l1
from l2.designs.zk.operator import Operator, encode_transfer
from l2.designs.zk.state import pk_hash, transfer
from l2.l1.compiler import PROJECT_ROOT

from .conftest import ETH, SHAPE

WORKER = Path(__file__).with_name("operator_worker.py")


class Crash(BaseException):
    """Stands for the process dying at this point."""


def test_a_stop_after_posting_but_before_forgetting_posts_nothing_twice(zk, tmp_path):
    db = tmp_path / "op.db"
    op = zk.make_operator(tmp_path, name="op.db")
    op.submit(zk.transfer(op, "alice", "bob", ETH // 2))
    op.submit(zk.transfer(op, "alice", "bob", ETH // 4))

    def crash():
        raise Crash()

    batches = zk.rollup.batch_count()
    op.store.transaction = crash  # the batch is on Layer 1; the database still holds its transfers
    with pytest.raises(Crash):
        op.step(urgent=True)
    assert zk.rollup.batch_count() == batches + 1
    restarted = Operator(zk.rollup, zk.operator, zk.prover, db, fee_index=zk.index("operator"))
    assert restarted.pending == [] and restarted.step(urgent=True) == []
    assert zk.rollup.batch_count() == batches + 1
    assert zk.state().account(zk.index("alice")).nonce == 2


def test_an_operator_killed_with_sigkill_while_proving_loses_no_accepted_transfer(anvil_chain, prover, tmp_path):
    chain = anvil_chain
    operator = chain.accounts[1]
    rollup = l1.deploy(chain, prover.verifying_key(), operator.address, SHAPE)
    keys = {name: f"anvil key {name}".encode() for name in ("alice", "bob")}
    index = {name: rollup.register(chain.accounts[2 + i], pk_hash(babyjub.public_key(key)), 2 * ETH)[0]
             for i, (name, key) in enumerate(keys.items())}
    setup = Operator(rollup, operator, prover, tmp_path / "setup.db")
    setup.step(urgent=True)
    setup.close()

    db = tmp_path / "op.db"
    worker = subprocess.Popen([sys.executable, str(WORKER), chain.url, rollup.address, str(db), "0"],
                              cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    sent = [transfer(keys["alice"], rollup.domain, index["alice"], index["bob"], ETH // 10, 0, 0),
            transfer(keys["alice"], rollup.domain, index["alice"], index["bob"], ETH // 10, 0, 1),
            transfer(keys["bob"], rollup.domain, index["bob"], 0, ETH // 10, 0, 0)]
    try:
        assert worker.stdout.readline().strip() == "ready"
        for tx in sent:
            worker.stdin.write(encode_transfer(tx) + "\n")
            worker.stdin.flush()
            assert worker.stdout.readline().strip() == "ok"
        worker.stdin.write("step\n")  # witness and proof take seconds: it dies in the middle
        worker.stdin.flush()
        time.sleep(1.0)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert rollup.batch_count() == 1  # the registrations' batch only

    restarted = Operator(rollup, operator, prover, db)
    assert len(restarted.pending) == 3
    while restarted.pending:
        restarted.step(urgent=True)
    state = l1.rebuild_state(rollup)
    assert state.account(index["alice"]).nonce == 2 and state.account(index["bob"]).nonce == 1
    assert state.account(index["bob"]).balance == 2 * ETH + ETH // 5 - ETH // 10
    assert rollup.withdrawable(chain.accounts[3].address) == ETH // 10
    assert rollup.held() == state.total() + ETH // 10
    restarted.close()
