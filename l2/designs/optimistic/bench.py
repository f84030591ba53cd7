"""Rollup benchmarks: L1 gas of batches, deposits, claims and fraud proofs; operator throughput.

Gas figures come from real transactions on the embedded chain (Prague rules, so EIP-7623's
calldata floor of 40 gas per non-zero byte applies to calldata-heavy batches). The calldata
breakdown metrics say what the same bytes would cost at the pre-Prague 16/4 gas per byte.
"""

from __future__ import annotations

import time

from eth_account import Account as EthAccount

from l2.designs.api import Metric, benchmark
from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import l1
from l2.designs.optimistic.compact import bench as _compact_bench  # noqa: F401 - registers the next format's benchmarks
from l2.designs.optimistic.scenarios import prove_every_fault
from l2.designs.optimistic.state import State, apply, queue_op_for
from l2.designs.optimistic.txs import QueueEntry, Transfer, Withdrawal, sign

BATCH = 256


def _calldata_gas(data: bytes) -> tuple[int, int, int, int]:
    """(non-zero bytes, zero bytes, gas at 16/4, gas at the EIP-7623 floor 40/10)."""
    zeros = data.count(0)
    nonzero = len(data) - zeros
    return nonzero, zeros, 16 * nonzero + 4 * zeros, 40 * nonzero + 10 * zeros


class _Setup:
    """A deployed rollup with funded L2 accounts, driven directly through the rules (no database)."""

    def __init__(self, chain, users: int = 4):
        self.chain = chain
        self.proposer = chain.accounts[1]
        self.users = chain.accounts[2 : 2 + users]
        self.rollup = l1.deploy(chain, self.proposer.address)
        self.rollup.deposit_bond(self.proposer, l1.DEV_MIN_BOND)
        self.deposit_gas = [self.rollup.deposit_eth(u, 10**20).gasUsed for u in self.users]
        self.state = State.genesis(self.rollup.tree_depth)
        self.entries = {}
        self.queue_head = 0

    def post(self, txs: list):
        """Post the new L1 queue entries then `txs` as one batch; returns (receipt, chunks)."""
        items: list = []
        for entry in self.rollup.queue_entries(start=len(self.entries)):
            self.entries[entry.index] = entry
            items.append(entry)
        items += txs
        queue_start, prev_root, pairs = self.queue_head, self.state.root, []
        for item in items:
            tx = queue_op_for(self.state, item) if isinstance(item, QueueEntry) else item
            self.state, _ = apply(self.state, tx, self.rollup.domain)
            pairs.append((tx.encode(), self.state.root))
            self.queue_head += isinstance(item, QueueEntry)
        chunks = batch_mod.make_chunks(pairs, queue_start)
        data = batch_mod.encode(chunks)
        receipt = self.rollup.submit_batch(self.proposer, prev_root, len(chunks), data, self.rollup.l1_queue_hash(data))
        return receipt, chunks

    def transfers(self, count: int) -> list:
        out, nonces = [], {}
        state = self.state
        for i in range(count):
            a, b = i % len(self.users), (i + 1) % len(self.users)
            sender = state.index_of(self.users[a].address)
            nonce = nonces.get(sender, state.account(sender).nonce)
            nonces[sender] = nonce + 1
            tx = Transfer(sender, state.index_of(self.users[b].address), 0, 10**15 + i * 10**9, 100)
            out.append(sign(tx, self.users[a].key, self.rollup.domain, nonce))
        return out


def _execution_gas(s: _Setup, count: int) -> int:
    """Execution gas of posting `count` transfer-sized chunks, measured where the calldata floor does
    not bind: the same sizes with zero-filled contents (posting cost does not depend on contents)."""
    snap = s.chain.snapshot()
    try:
        data = (b"\x01" + b"\0" * 112) * (count - 1) + b"\x01" + b"\0" * 80 + b"\x11" * 32
        receipt = s.rollup.submit_batch(s.proposer, s.state.root, count, data, s.rollup.l1_queue_hash(data))
        raw = bytes(s.chain.w3.eth.get_transaction(receipt.transactionHash)["input"])
        _, _, standard, floor = _calldata_gas(raw)
        if receipt.gasUsed == 21000 + floor:
            raise RuntimeError("the calldata floor binds even with zero-filled chunks; execution is not measurable")
        return receipt.gasUsed - 21000 - standard
    finally:
        s.chain.revert(snap)


@benchmark(
    metrics=[
        Metric("optimistic.gas_per_transfer_batch256", unit="gas", target=2000, better="lower",
               reference="Celer commitBlock 4,889 gas per extra transition; plain L1 transfer 21,000 (anchors.md)"),
        Metric("optimistic.gas.submit_batch_1", unit="gas", target=100_000, better="lower",
               reference="Optimism proposeL2Output 92,973 (anchors.md)"),
        Metric("optimistic.gas.deposit", unit="gas", target=60_000, better="lower",
               reference="Optimism depositTransaction 68,422; Celer deposit 15,880 (anchors.md)"),
        Metric("optimistic.gas.withdraw_claim", unit="gas", target=100_000, better="lower",
               reference="Optimism prove 155,610 + finalize 72,664 (anchors.md)"),
    ]
)
def bench_rollup_gas(ctx) -> dict[str, float]:
    chain = ctx.chain()
    s = _Setup(chain)
    s.post([])  # the deposits
    one_receipt, _ = s.post(s.transfers(1))
    receipt, chunks = s.post(s.transfers(BATCH))
    data = batch_mod.encode(chunks)
    nonzero, zeros, standard, floor = _calldata_gas(data)
    tx_floor = _calldata_gas(bytes(chain.w3.eth.get_transaction(receipt.transactionHash)["input"]))[3]
    execution = _execution_gas(s, BATCH)
    # a withdrawal, claimed after finality
    user = s.users[0]
    index = s.state.index_of(user.address)
    w = sign(Withdrawal(index, user.address, 0, 10**17), user.key, s.rollup.domain, s.state.account(index).nonce)
    _, wchunks = s.post([w])
    chain.advance_time(s.rollup.challenge_window + 1)
    header = s.rollup.posted_batch(s.rollup.events("BatchSubmitted")[-1]).header
    claim = s.rollup.claim_withdrawal(user, header, batch_mod.inclusion(wchunks, 0))
    return {
        "optimistic.gas_per_transfer_batch256": receipt.gasUsed / BATCH,
        "optimistic.gas.submit_batch_1": one_receipt.gasUsed,
        "optimistic.gas.deposit": max(s.deposit_gas[1:]),
        "optimistic.gas.withdraw_claim": claim.gasUsed,
        "optimistic.calldata.bytes_per_transfer": len(data) / BATCH,
        "optimistic.calldata.nonzero_bytes_per_transfer": nonzero / BATCH,
        "optimistic.calldata.gas_per_transfer_at_16_4": standard / BATCH,
        "optimistic.calldata.gas_per_transfer_at_floor_40_10": floor / BATCH,
        "optimistic.calldata.signature_gas_per_transfer_at_floor": 64 * 40,
        "optimistic.calldata.root_gas_per_transfer_at_floor": 32 * 40,
        "optimistic.gas.batch256_at_calldata_floor": float(receipt.gasUsed == 21000 + tx_floor),
        "optimistic.gas.batch256_execution_per_transfer": execution / BATCH,
        "optimistic.gas_per_transfer_batch256_pre_prague_estimate": (21000 + _calldata_gas(
            bytes(chain.w3.eth.get_transaction(receipt.transactionHash)["input"]))[2] + execution) / BATCH,
    }


@benchmark(
    metrics=[
        Metric("optimistic.fraud_proof_gas_max", unit="gas", target=200_000, better="lower",
               reference="Celer disputeTransition max 198,055, average 128,812 (anchors.md)"),
    ]
)
def bench_fraud_proofs(ctx) -> dict[str, float]:
    commitments: dict[str, int] = {}
    gas = prove_every_fault(ctx.chain(), commitments)
    out = {f"optimistic.fraud_proof_gas.{k}": v for k, v in gas.items()}
    out["optimistic.fraud_proof_gas_max"] = max(gas.values())
    out["optimistic.fraud_proof_gas_mean"] = sum(gas.values()) / len(gas)
    # the commitment sent a block before the proof, so that nobody can copy it from the mempool
    out["optimistic.gas.challenge_commit"] = max(commitments.values())
    return out


@benchmark(
    metrics=[
        Metric("optimistic.gas.batch_queue_progress", unit="gas", better="lower",
               reference="the most a queue backlog asks of one batch: QUEUE_PROGRESS deposits; a block holds 30-36 M"),
        Metric("optimistic.gas.deposit_token", unit="gas", better="lower",
               reference="Optimism depositERC20 ~ 100k; credits what arrived (balance before and after)"),
    ]
)
def bench_queue(ctx) -> dict[str, float]:
    """What a backlog of queue entries costs a proposer per batch, and a token deposit."""
    chain = ctx.chain()
    s = _Setup(chain, users=2)
    s.post([])
    progress = s.rollup.queue_progress
    for _ in range(progress):
        s.rollup.deposit_eth(s.users[0], l1.DEV_MIN_DEPOSIT)
    receipt, _ = s.post([])
    admin = chain.accounts[0]
    token = chain.deploy("TestToken", "Bench Token", "BNT", sender=admin)
    s.rollup.register_token(admin, token.address)
    chain.transact(token.functions.mint(s.users[1].address, 10**21), admin)
    s.rollup.deposit_token(s.users[1], 1, 10**18)  # the first deposit of a token writes cold slots
    return {
        "optimistic.gas.batch_queue_progress": receipt.gasUsed,
        "optimistic.gas.batch_queue_progress_entries": progress,
        "optimistic.gas.deposit_token": s.rollup.deposit_token(s.users[1], 1, 10**18).gasUsed,
    }


SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SWEEP_QUICK = (1, 4, 16, 64, 256, 1024)
SWEEP_PREFIX = "optimistic.gas_per_transfer.batch_"


@benchmark(
    metrics=[
        Metric(f"{SWEEP_PREFIX}{n}", unit="gas", better="lower",
               reference="Celer 4,889 per extra transition; plain L1 transfer 21,000 (anchors.md)" if n == 1024 else "")
        for n in SWEEP
    ]
)
def bench_batch_sizes(ctx) -> dict[str, float]:
    """Layer-1 gas per transfer of real batches of 1, 2, 4, ... 1,024 signed transfers (what `--plot` draws)."""
    s = _Setup(ctx.chain())
    s.post([])  # the deposits
    out = {}
    for n in SWEEP_QUICK if ctx.quick else SWEEP:
        receipt, _ = s.post(s.transfers(n))
        out[f"{SWEEP_PREFIX}{n}"] = receipt.gasUsed / n
    return out


@benchmark(
    metrics=[
        Metric("optimistic.operator_tx_per_s", unit="tx/s", target=1500,
               reference="sequencer verify (ecrecover) + apply + SMT root update, one core"),
        Metric("optimistic.l2_over_l1_throughput", unit="x", target=20,
               reference="operator tx/s over l1.eth_transfer_tx_per_s of the same run"),
    ]
)
def bench_operator(ctx) -> dict[str, float]:
    count = 500 if ctx.quick else 3000
    keys = [EthAccount.from_key(bytes([i + 1]) * 32) for i in range(16)]
    from l2.designs.optimistic.txs import QUEUE_DEPOSIT, QueueEntry, domain

    dom = domain(1, "0x" + "ab" * 20)
    state = State.genesis()
    for i, k in enumerate(keys):
        state, _ = apply(state, queue_op_for(state, QueueEntry(i, QUEUE_DEPOSIT, k.address, 0, 0, 10**24)), dom)
    signed = []
    nonces = [0] * len(keys)
    for i in range(count):
        a, b = i % len(keys), (i * 7 + 3) % len(keys)
        if a == b:
            b = (b + 1) % len(keys)
        signed.append(sign(Transfer(a, b, 0, 10**15, 10), keys[a].key, dom, nonces[a]))
        nonces[a] += 1
    start = time.perf_counter()
    for tx in signed:
        state, _ = apply(state, tx, dom)
    rate = count / (time.perf_counter() - start)
    out = {"optimistic.operator_tx_per_s": rate}
    l1_rate = ctx.results.get("l1.eth_transfer_tx_per_s")
    if l1_rate:
        out["optimistic.l2_over_l1_throughput"] = rate / l1_rate
    return out

