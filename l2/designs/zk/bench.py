"""zk-rollup benchmarks: the verifier's gas, the circuit's size per transfer, proving time, Layer-1 gas per
transfer by batch size, and how long a withdrawal takes to be paid.

Gas figures are real transactions on the embedded chain (Prague). Batches larger than the deployed circuit
would need their own circuit and setup (minutes and gigabytes at 64 transfers), so for those the same
ZkRollup runs behind ZkAcceptingVerifier (a test double that accepts every proof) and the real verifier's
premium, measured on a real proven batch of the deployed circuit, is added back.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from l2.designs.api import Metric, benchmark
from l2.designs.zk import circuit, l1
from l2.designs.zk.batch import Shape
from l2.designs.zk.node import Node, deployed_shape
from l2.designs.zk.operator import Operator
from l2.designs.zk.state import State, fee_encode, float_encode

SIZES = (4, 16, 64, 256, 1024)


def _proven_rollup(chain, tmp: Path):
    shape = deployed_shape()
    prover = circuit.prover_for(shape)
    operator_account, alice_account, bob_account = chain.accounts[0], chain.accounts[1], chain.accounts[2]
    rollup = l1.deploy(chain, prover.verifying_key(), operator_account.address, shape)
    operator = Operator(rollup, operator_account, prover, tmp / "op.db")
    node = Node(rollup, prover, operator)
    alice, bob = node.wallet(alice_account), node.wallet(bob_account)
    alice.register(10**19)
    bob.register(10**19)
    while operator.pending_count():
        operator.step(urgent=True)
    return node, alice, bob


@benchmark([
    Metric("zk.verify_gas", unit="gas", better="lower",
           reference="snarkjs's verifier 214,582 with one input, as a transaction (anchors)"),
    Metric("zk.constraints_per_transfer", unit="constraints", better="lower",
           reference="~25k at depth 20 plus ~6k of SHA-256, binary tree (issue 15)"),
    Metric("zk.prove_s_per_transfer", unit="s", better="lower",
           reference="groth16py 1.3 s for 31.7k constraints, 12.5 s for 303k (issue 15)"),
    Metric("zk.withdraw_latency_s", unit="s", better="lower",
           reference="the optimistic rollup: its challenge window (7 days in production)"),
])
def bench_proving(ctx) -> dict[str, float]:
    chain = ctx.chain()
    with tempfile.TemporaryDirectory(prefix="l2-zk-bench-") as tmp:
        node, alice, bob = _proven_rollup(chain, Path(tmp))  # the prover's process starts in that first proof
        shape = node.rollup.shape
        for _ in range(shape.n_tx):
            alice.pay(bob, 10**17)
        node.operator.step(urgent=True)
        prove_s = node.operator.last_prove_s  # witness and proof of a full batch
        batch, proof = node.operator.last_batch, node.operator.last_proof
        assert batch is not None
        verifier = chain.contract("Groth16Verifier", node.rollup.fn.verifier().call())
        verify = chain.transact(verifier.functions.verifyProof(l1.proof_words(proof), batch.input_hash),
                                chain.accounts[3], gas=l1.SUBMIT_GAS)
        premium = _last_submit_gas(node) - _double_batch_gas(chain, shape, batch.tx_data())
        started = time.perf_counter()
        bob.withdraw(10**17)
        node.operator.step(urgent=True)
        bob.claim()
        latency = time.perf_counter() - started
        node.operator.close()
    out = {"zk.verify_gas": verify.gasUsed, "zk.prove_s_per_transfer": prove_s / shape.n_tx, "zk.prove_s": prove_s,
           "zk.withdraw_latency_s": latency, "zk.constraints": node.prover.build.constraints(),
           "zk.verifier_premium_gas": premium}
    if not ctx.quick:
        # What the deployed circuit's transfer slots cost, SHA-256 of their 13 bytes included: against the same
        # circuit without them (a compile of its own: half a minute at the tests' size, a few deployed, where
        # a circuit twice as large would take many). --quick leaves it out.
        bare = Shape(shape.n_queue, 0, shape.depth)
        out["zk.constraints_per_transfer"] = (node.prover.build.constraints()
                                              - circuit.compile_circuit(bare).constraints()) / shape.n_tx
    return out


def _tx_data(n: int, depth: int, rng: random.Random) -> bytes:
    out = b""
    for _ in range(n):
        frm, to = rng.randrange(1, 1 << depth), rng.randrange(1, 1 << depth)
        amount = float_encode(rng.randint(1, 999) * 10**15)
        out += frm.to_bytes(3, "big") + to.to_bytes(3, "big") + amount.to_bytes(5, "big") + \
            fee_encode(rng.randint(1, 999) * 10**9).to_bytes(2, "big")
    return out


def _double_batch_gas(chain, shape: Shape, tx_data: bytes) -> int:
    """submitBatch's gas for `tx_data` behind the accepting test double."""
    double = chain.deploy("ZkAcceptingVerifier")
    p3, p4 = chain.deploy("PoseidonT4"), chain.deploy("PoseidonT5")
    operator = chain.accounts[0]
    contract = chain.deploy("ZkRollup", *l1.rollup_args(double.address, p3.address, p4.address, operator.address,
                                                       shape, l1.DEV_INCLUSION_WINDOW, l1.DEV_MIN_DEPOSIT))
    call = contract.functions.submitBatch(State(shape.depth).root, 0, 0, tx_data, [1] * 8)
    return chain.transact(call, operator, gas=30_000_000).gasUsed


@benchmark([Metric(f"zk.gas_per_transfer_batch{n}", unit="gas", better="lower",
                   reference="zkSync Lite ~0.4k per transaction plus one verification per block (anchors)")
            for n in SIZES])
def bench_batch_sizes(ctx) -> dict[str, float]:
    chain = ctx.chain()
    rng = random.Random(15)
    shape = deployed_shape()
    out: dict[str, float] = {}
    premium = ctx.results.get("zk.verifier_premium_gas")  # what the pairing check adds, from bench_proving
    if premium is None:
        with tempfile.TemporaryDirectory(prefix="l2-zk-bench-") as tmp:
            node, alice, bob = _proven_rollup(chain, Path(tmp))
            for _ in range(shape.n_tx):
                alice.pay(bob, 10**17)
            node.operator.step(urgent=True)
            assert node.operator.last_batch is not None
            premium = _last_submit_gas(node) - _double_batch_gas(chain, shape, node.operator.last_batch.tx_data())
            node.operator.close()
        out["zk.verifier_premium_gas"] = premium
    for n in SIZES if not ctx.quick else SIZES[:3]:
        big = Shape(shape.n_queue, n, shape.depth)
        out[f"zk.gas_per_transfer_batch{n}"] = (_double_batch_gas(chain, big, _tx_data(n, shape.depth, rng))
                                                + premium) / n
    return out


def _last_submit_gas(node) -> int:
    log = node.rollup.contract.events.BatchVerified().get_logs(from_block=0)[-1]
    return node.rollup.chain.w3.eth.get_transaction_receipt(log.transactionHash)["gasUsed"]
