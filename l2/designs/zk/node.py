"""A zk-rollup deployment as the demo, the sandbox and the compare workload use it: the client, the circuit
of its shape with its prover, and an operator (the deployer's account) with its database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from l2.designs.zk import circuit
from l2.designs.zk.batch import Shape
from l2.designs.zk.l1 import ZkRollupClient
from l2.designs.zk.operator import Operator
from l2.designs.zk.wallet import Wallet

# The deployed circuit: a real depth (2^20 accounts) and 16 transfers a proof, the most that keep it under
# 2^19 constraints (494,730; Groth16's FFTs and key grow by the next power of two): proving costs about
# 1 s a transfer here where 2 transfers a proof cost 3 s. `L2_ZK_SHAPE=queue,txs,depth` picks another
# (tests use depth 8: every circuit size costs its compile, its setup and its proofs).
DEFAULT_SHAPE = Shape(2, 16, 20)


def deployed_shape() -> Shape:
    spec = os.environ.get("L2_ZK_SHAPE")
    if not spec:
        return DEFAULT_SHAPE
    q, t, d = (int(x) for x in spec.split(","))
    return Shape(q, t, d)


@dataclass
class Node:
    rollup: ZkRollupClient
    prover: circuit.Prover
    operator: Operator

    def wallet(self, account) -> Wallet:
        return Wallet(account, self.rollup, self.operator)


def open_node(chain, addresses: dict[str, str], operator_account, db: Path, fee_index: int = 0,
              max_age: float = 0.0) -> Node:
    rollup = ZkRollupClient(chain, addresses["ZkRollup"])
    prover = circuit.prover_for(rollup.shape)
    return Node(rollup, prover, Operator(rollup, operator_account, prover, db, fee_index=fee_index, max_age=max_age))
