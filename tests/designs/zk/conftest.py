"""zk-rollup fixtures: the small circuit (2 queue slots, 2 transactions, depth 8), compiled and keyed once
(cached in build/zk/ by content hash), one prover process, and one deployment per session whose three
registrations (operator, alice, bob) are consumed by proven batches. tests/conftest.py reverts every test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from l2.designs.zk import babyjub, circuit, l1
from l2.designs.zk.batch import Shape
from l2.designs.zk.operator import Operator
from l2.designs.zk.state import State, pk_hash, transfer

SHAPE = Shape(2, 2, 8)
ETH = 10**18


@pytest.fixture(scope="session")
def prover():
    return circuit.prover_for(SHAPE)


@dataclass
class ZkEnv:
    chain: object
    rollup: l1.ZkRollupClient
    prover: circuit.Prover
    operator: object
    users: dict  # name -> (L1 account, BabyJubJub key, L2 index)

    def make_operator(self, tmp_path, name="operator.db", **kwargs) -> Operator:
        return Operator(self.rollup, self.operator, self.prover, tmp_path / name, fee_index=self.index("operator"),
                        **kwargs)

    def index(self, name: str) -> int:
        return self.users[name][2]

    def key(self, name: str) -> bytes:
        return self.users[name][1]

    def account(self, name: str):
        return self.users[name][0]

    def transfer(self, op: Operator, sender: str, receiver: str | None, amount: int, fee: int = 0):
        """A transfer signed by `sender` (receiver None: a withdrawal), with the operator's next nonce."""
        frm = self.index(sender)
        to = 0 if receiver is None else self.index(receiver)
        return transfer(self.key(sender), self.rollup.domain, frm, to, amount, fee, op.nonce(frm))

    def state(self) -> State:
        return l1.rebuild_state(self.rollup)


@pytest.fixture(scope="session")
def zk_session(chain, prover, tmp_path_factory) -> ZkEnv:
    snapshot = chain.snapshot()  # noqa: F841 - the session keeps its deployment
    operator = chain.accounts[1]
    rollup = l1.deploy(chain, prover.verifying_key(), operator.address, SHAPE)
    users = {}
    for i, name in enumerate(("operator", "alice", "bob")):
        account = operator if name == "operator" else chain.accounts[2 + i]
        key = f"zk test key {name}".encode()
        index, _ = rollup.register(account, pk_hash(babyjub.public_key(key)), 2 * ETH if name != "operator" else
                                   rollup.min_deposit)
        users[name] = (account, key, index)
    env = ZkEnv(chain, rollup, prover, operator, users)
    op = env.make_operator(tmp_path_factory.mktemp("zk"))
    while rollup.queued():
        op.step(urgent=True)
    op.close()
    return env


@pytest.fixture
def zk(zk_session) -> ZkEnv:
    return zk_session
