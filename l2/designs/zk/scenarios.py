"""The zk-rollup's gas-report scenario: every ZkRollup function on a fresh deployment of the deployed shape."""

from __future__ import annotations

import tempfile
from pathlib import Path

from l2.designs.zk import circuit, l1
from l2.designs.zk.node import Node, deployed_shape
from l2.designs.zk.operator import Operator


def full_cycle(chain) -> None:
    """Deploy; register two accounts and pay, withdraw and claim in one proven batch (the operator accepts the
    payments on top of the queued registrations); a deposit left queued freezes the rollup; exit, refund."""
    shape = deployed_shape()
    prover = circuit.prover_for(shape)
    operator_account, alice_account, bob_account = chain.accounts[0], chain.accounts[1], chain.accounts[2]
    rollup = l1.deploy(chain, prover.verifying_key(), operator_account.address, shape)
    with tempfile.TemporaryDirectory(prefix="l2-zk-gas-") as tmp:
        operator = Operator(rollup, operator_account, prover, Path(tmp) / "op.db")
        node = Node(rollup, prover, operator)
        alice, bob = node.wallet(alice_account), node.wallet(bob_account)
        alice.register(10**18)
        bob.register(10**18)
        alice.pay(bob, 10**17)
        bob.withdraw(10**17)
        operator.step(urgent=True)  # one proof: both registrations, the payment, the withdrawal
        bob.claim()
        alice.deposit(10**17)  # never included: the operator stops here
        chain.advance_time(rollup.inclusion_window + 1)
        rollup.activate_exodus(bob_account)
        state = l1.rebuild_state(rollup)
        rollup.exit(alice_account, alice.index, state)
        for position, _ in rollup.queued():
            rollup.refund_queued(alice_account, position)
        operator.close()
