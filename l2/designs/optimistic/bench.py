"""Optimistic-rollup benchmarks: Layer-1 gas and bytes per transfer of real batches (and the sweep over
batch sizes that `--plot` draws), the gas of both fraud proofs at their worst (every transfer of a full
commitment from a different sender, replayed or checked in full), the fraud proofs of the sequencer's
faults, a queue backlog, and the sequencer's throughput, in memory and durable.

The fraud proofs run on anvil: py-evm's pairings are pure Python, and a signature proof at k = 128 needs
129 of them. Batch posting needs no pairing and runs on the embedded chain like every other benchmark.
"""

from __future__ import annotations

from eth_account import Account as EthAccount
from eth_utils import to_canonical_address

from l2.core import bls, eip712
from l2.core.crypto import keccak
from l2.designs.api import Metric, benchmark, beside_commit_metrics
from l2.designs.optimistic import encoding, proofs
from l2.designs.optimistic.encoding import (
    MAX_QUEUE_COUNT,
    QueueCommitment,
    QueueEntry,
    Transfer,
    TransferCommitment,
)
from l2.designs.optimistic.state import State, apply_transfer, apply_transfers, key_hash, queue_outcomes

ETHER = 10**18
BOND = ETHER


class RollupSetup:
    """A deployed OptimisticRollup with `users` registered and funded accounts (1 .. users), driven through
    the rules directly (no database): what the benchmarks post and prove."""

    def __init__(self, chain, users: int, depth: int = 20, k: int = encoding.DEFAULT_COMMITMENT_SIZE):
        self.chain, self.k = chain, k
        admin, self.proposer, self.challenger = chain.accounts[0], chain.accounts[1], chain.accounts[2]
        signatures = chain.deploy("AggregateSignatures", sender=admin)
        self.rollup = chain.deploy("OptimisticRollup", self.proposer.address, 600, 3600, BOND, 10**15, depth, k,
                                   signatures.address, sender=admin)
        chain.transact(self.rollup.functions.depositBond(), self.proposer, value=BOND)
        self.domain = encoding.domain(chain.chain_id, self.rollup.address)
        self.users = [EthAccount.from_key(keccak(b"rollup bench user" + i.to_bytes(4, "big"))) for i in range(users)]
        self.keys = [bls.BlsKey.derive(bytes(u.key)) for u in self.users]
        self.by_hash = {}
        for user, key in zip(self.users, self.keys, strict=True):
            chain.send_eth(admin, user.address, 11 * ETHER)
            kh = key_hash(key.public)
            self.by_hash[kh] = key.public
            message = eip712.typed_data_digest(self.domain, encoding.KEY_REGISTRATION_TYPE.hash_struct(
                {"owner": user.address, "keyHash": kh}))
            self.register_gas = chain.transact(self.rollup.functions.registerKey(
                bls.g2_evm(key.public), key.prove_possession(message)), user).gasUsed
            self.deposit_gas = chain.transact(self.rollup.functions.depositETH(user.address), user,
                                              value=10 * ETHER).gasUsed
        self.state = State.genesis(depth)
        self.queue_head = 0
        entries = [QueueEntry(a.index, a.kind, a.account, to_canonical_address(a.owner), a.keyHash, a.token, a.amount)
                   for a in (log.args for log in self.rollup.events.QueueEntryAdded().get_logs(from_block=0))]
        commitments = []
        for start in range(0, len(entries), MAX_QUEUE_COUNT):
            self.state, ok = queue_outcomes(self.state, entries[start:start + MAX_QUEUE_COUNT])
            commitments.append(QueueCommitment(self.state.root, len(ok), ok))
        self.post(commitments, queue_consumed=len(entries))

    def post(self, commitments: list, queue_consumed: int = 0):
        starts, cursor = [], self.queue_head
        for c in commitments:
            starts.append(cursor)
            cursor += c.count if isinstance(c, QueueCommitment) else 0
        data = encoding.encode_batch(commitments)
        tip = self.rollup.functions.tipRoot().call()
        receipt = self.chain.transact(self.rollup.functions.submitBatch(
            tip, self.rollup.functions.queueHashAt(cursor).call(), data), self.proposer)
        self.queue_head = cursor
        event = self.rollup.events.BatchSubmitted().process_receipt(receipt)[0].args
        header = (event.index, event.prevRoot, event.commitmentsRoot, event.commitmentCount, event.queueStart,
                  event.queueEnd, event.proposer, event.postedAt)
        return receipt, proofs.PostedBatch(header, tuple(commitments), tuple(starts))

    def commitment(self, offset: int, n: int, wrong_root: bool = False, forge_signature: bool = False):
        """n transfers, sender i (from `offset`) paying the next account, every sender different when the
        users allow; returns (commitment, state after it, state before it)."""
        count = len(self.users)
        txs = [Transfer((offset + i) % count + 1, (offset + i + 1) % count + 1, 10**15, 10**12) for i in range(n)]
        nonces: dict[int, int] = {}
        signatures = []
        for tx in txs:
            account = self.state.account(tx.sender)
            assert account is not None  # every sender was registered in setup
            nonce = account.nonce + nonces.get(tx.sender, 0)
            nonces[tx.sender] = nonces.get(tx.sender, 0) + 1
            signatures.append(self.keys[tx.sender - 1].sign(tx.message(self.domain, nonce + forge_signature)))
        draft = TransferCommitment(b"\0" * 32, bls.aggregate(signatures), 1, tuple(txs))
        after, _ = apply_transfers(self.state, draft)
        root = keccak(b"wrong") if wrong_root else after.root
        return TransferCommitment(root, draft.signature, 1, tuple(txs)), after

    def batch_of(self, transfers: int):
        """Post `transfers` transfers in commitments of k; returns the receipt and the calldata size."""
        commitments = []
        for start in range(0, transfers, self.k):
            c, self.state = self.commitment(start, min(self.k, transfers - start))
            commitments.append(c)
        receipt, _ = self.post(commitments)
        size = len(bytes(self.chain.w3.eth.get_transaction(receipt.transactionHash)["input"]))
        return receipt, size

    def dense_batch_of(self, transfers: int, seed: int = 1):
        """Posting cost of `transfers` transfers whose 8 bytes are all non-zero, as in a tree of a million
        accounts (this setup's few accounts have small indexes, i.e. zero bytes, which the calldata floor
        prices at a quarter). The contents are random, so the batch is posted and taken back: posting
        cost does not depend on whether the transfers are valid."""
        import random

        rng = random.Random(seed)

        def dense() -> bytes:
            while True:
                word = rng.getrandbits(64).to_bytes(8, "big")
                if all(word):
                    return word

        commitments = []
        for start in range(0, transfers, self.k):
            n = min(self.k, transfers - start)
            body = b"".join(dense() for _ in range(n))
            commitments.append(_RawTransfers(rng.randbytes(32), self.keys[0].sign(rng.randbytes(8)), 1, body))
        snapshot = self.chain.snapshot()
        try:
            receipt, _ = self.post(commitments)
            size = len(bytes(self.chain.w3.eth.get_transaction(receipt.transactionHash)["input"]))
        finally:
            self.chain.revert(snapshot)
        return receipt, size

    def prove(self, kind: str) -> int:
        """Gas of the worst-case fraud proof of `kind` ("transition" or "signature") on a full commitment."""
        pre = self.state
        if self.rollup.functions.bonds(self.proposer.address).call() < BOND:  # slashed by the previous proof
            self.chain.transact(self.rollup.functions.depositBond(), self.proposer, value=BOND)
        c, _ = self.commitment(0, self.k, wrong_root=kind == "transition", forge_signature=kind == "signature")
        _, batch = self.post([c])
        if kind == "transition":
            proof = proofs.transition_proof(batch, 0, pre)
            commit = self.rollup.functions.transitionCommitmentOf(proof, self.challenger.address).call()
            fn = self.rollup.functions.challengeTransition(proof)
        else:
            proof = proofs.signature_proof(batch, 0, pre, self.by_hash.__getitem__)
            commit = self.rollup.functions.signatureCommitmentOf(proof, self.challenger.address).call()
            fn = self.rollup.functions.challengeSignature(proof)
        self.chain.transact(self.rollup.functions.commitChallenge(commit), self.challenger)
        receipt = self.chain.transact(fn, self.challenger, gas=16_000_000)
        self.state = pre
        return receipt.gasUsed


class _RawTransfers:
    """A transfer commitment built from raw transfer bytes (for `dense_batch_of`)."""

    kind = encoding.COMMIT_TRANSFERS

    def __init__(self, post_root: bytes, signature: bytes, fee_receiver: int, body: bytes):
        self.post_root, self.signature, self.fee_receiver, self.body_bytes = post_root, signature, fee_receiver, body

    def encode(self) -> bytes:
        n = len(self.body_bytes) // 8
        return (bytes([encoding.COMMIT_TRANSFERS]) + self.post_root + self.signature
                + self.fee_receiver.to_bytes(4, "big") + n.to_bytes(2, "big") + self.body_bytes)

    def body_hash(self, queue_start: int = 0) -> bytes:
        return keccak(self.encode()[:1] + self.encode()[33:])


@benchmark(
    metrics=[
        Metric("optimistic.gas_per_transfer_batch256", unit="gas", target=500, better="lower",
               reference="Hubble 441.5 at pre-Prague prices, ~700 under EIP-7623; prototype here 432 (anchors.md)"),
        Metric("optimistic.gas_per_transfer_batch1024", unit="gas", target=420, better="lower",
               reference="prototype here 367; physical floor ~320 for 8 non-zero bytes (anchors.md)"),
        Metric("optimistic.calldata.bytes_per_transfer", unit="B", target=9, better="lower",
               reference="zkSync Lite 20, Loopring 22, Hubble 12; the current format 113 (anchors.md)"),
    ]
)
def bench_batches(ctx) -> dict[str, float]:
    s = RollupSetup(ctx.chain(), users=2 if ctx.quick else 8)  # each registration is a py-evm pairing check
    out = {"optimistic.gas.register_key": s.register_gas, "optimistic.gas.deposit": s.deposit_gas}
    for n in (256, 1024):
        receipt, size = s.dense_batch_of(n)
        out[f"optimistic.gas_per_transfer_batch{n}"] = receipt.gasUsed / n
        out[f"optimistic.calldata.bytes_per_transfer_batch{n}"] = size / n
        # the same size of real signed transfers between this setup's 8 accounts (small indexes: zero bytes)
        receipt, _ = s.batch_of(n)
        out[f"optimistic.gas_per_transfer_batch{n}_small_indexes"] = receipt.gasUsed / n
    out["optimistic.calldata.bytes_per_transfer"] = out[
        "optimistic.calldata.bytes_per_transfer_batch1024"]
    return out


@benchmark(
    metrics=[
        Metric("optimistic.fraud_proof_gas.transition_max", unit="gas", target=10_000_000, better="lower",
               reference="k = 128 on anvil; Hubble ~2.6 M at k = 32; Osaka caps a transaction at 16,777,216"),
        Metric("optimistic.fraud_proof_gas.signature_max", unit="gas", target=10_000_000, better="lower",
               reference="k = 128 on anvil; Hubble 4.7-6.4 M at k = 32 (BN254)"),
    ]
)
def bench_disputes(ctx) -> dict[str, float]:
    from l2.l1.anvil import start_anvil
    from l2.l1.chain import RpcChain

    out: dict[str, float] = {}
    with start_anvil() as url:
        chain = RpcChain(url)
        try:
            for k in ((32,) if ctx.quick else (32, 128)):
                s = RollupSetup(chain, users=k + 1, k=k)
                suffix = "" if k == 128 else f"_k{k}"
                out[f"optimistic.fraud_proof_gas.transition_max{suffix}"] = s.prove("transition")
                out[f"optimistic.fraud_proof_gas.signature_max{suffix}"] = s.prove("signature")
        finally:
            chain.close()
    return out


@benchmark(
    metrics=[
        Metric("optimistic.operator_tx_per_s", unit="tx/s", target=1500,
               reference="sequencer: rules + tree update + its commitment's aggregate BLS check (blst), one core"),
    ]
)
def bench_operator(ctx) -> dict[str, float]:
    """Transfers per second through the sequencer's work, one core: each transfer applied to the account
    tree, each commitment of k signatures aggregated and checked against its senders' keys (the sequencer
    checks signatures one by one only when an aggregate fails)."""
    import time

    count = 500 if ctx.quick else 3000
    accounts = 16
    keys = [bls.BlsKey.from_secret(7 + i) for i in range(accounts)]
    domain = encoding.domain(1, "0x" + "ab" * 20)
    entries = [QueueEntry(i, encoding.QUEUE_DEPOSIT, i + 1, bytes([i + 1]) * 20, key_hash(k.public), 0, 10**24)
               for i, k in enumerate(keys)]
    state, _ = queue_outcomes(State.genesis(20), entries)
    key_of = {key_hash(k.public): k.public for k in keys}
    nonces = [0] * accounts
    signed = []
    for i in range(count):
        a, b = i % accounts, (i * 7 + 3) % accounts
        b = (b + 1) % accounts if a == b else b
        tx = Transfer(a + 1, b + 1, 10**15, 10**10)
        signed.append((tx, nonces[a], keys[a].sign(tx.message(domain, nonces[a]))))
        nonces[a] += 1
    start = time.perf_counter()
    k = encoding.DEFAULT_COMMITMENT_SIZE
    for first in range(0, count, k):  # what Sequencer does: apply each, check each commitment's aggregate
        commitment = signed[first:first + k]
        keys_, messages = [], []
        for tx, nonce, _ in commitment:
            sender = state.account(tx.sender)
            assert sender is not None  # every sender was registered in setup
            if sender.nonce != nonce:
                raise AssertionError("a pre-signed transfer has the wrong nonce")
            keys_.append(key_of[sender.key_hash])
            messages.append(tx.message(domain, nonce))
            state, _ = apply_transfer(state, tx, 0)
        if not bls.verify_aggregate(keys_, messages, bls.aggregate([s for _, _, s in commitment])):
            raise AssertionError("a pre-signed commitment did not verify")
    rate = count / (time.perf_counter() - start)
    out = {"optimistic.operator_tx_per_s": rate}
    l1_rate = ctx.results.get("l1.eth_transfer_tx_per_s")
    if l1_rate:
        out["optimistic.l2_over_l1_throughput"] = rate / l1_rate
    return out


@benchmark(
    metrics=[
        Metric("optimistic.fraud_proof_gas_max", unit="gas", target=2_000_000, better="lower",
               reference="each sequencer fault proven in one transaction, k = 8 (Celer max 198,055; anchors.md)"),
    ]
)
def bench_fraud_proofs(ctx) -> dict[str, float]:
    from l2.designs.optimistic.scenarios import SCENARIO_COMMITMENT_SIZE, prove_every_fault

    commitments: dict[str, int] = {}
    gas = prove_every_fault(ctx.chain(), commitments)
    k = SCENARIO_COMMITMENT_SIZE
    out: dict[str, float] = {f"optimistic.fraud_proof_gas.{fault}_k{k}": v for fault, v in gas.items()}
    out["optimistic.fraud_proof_gas_max"] = max(gas.values())
    # the commitment sent a block before the proof, so that nobody can copy it from the mempool
    out["optimistic.gas.challenge_commit"] = max(commitments.values())
    return out


@benchmark(
    metrics=[
        Metric("optimistic.gas.batch_queue_progress", unit="gas", better="lower",
               reference="the most a queue backlog asks of one batch: 64 entries in one commitment; a block "
                         "holds 30-36 M"),
        Metric("optimistic.gas.deposit_token", unit="gas", better="lower",
               reference="Optimism depositERC20 ~ 100k; credits what arrived (balance before and after)"),
    ]
)
def bench_queue(ctx) -> dict[str, float]:
    """What a backlog of queue entries costs a proposer per batch, and a token deposit."""
    chain = ctx.chain()
    s = RollupSetup(chain, users=2)
    f = s.rollup.functions
    for _ in range(MAX_QUEUE_COUNT):
        chain.transact(f.depositETH(s.users[0].address), s.users[0], value=10**15)
    entries = [QueueEntry(a.index, a.kind, a.account, to_canonical_address(a.owner), a.keyHash, a.token, a.amount)
               for a in (log.args for log in s.rollup.events.QueueEntryAdded().get_logs(from_block=0))
               if a.index >= s.queue_head]
    s.state, ok = queue_outcomes(s.state, entries)
    receipt, _ = s.post([QueueCommitment(s.state.root, len(ok), ok)])
    admin = chain.accounts[0]
    token = chain.deploy("TestToken", "Bench Token", "BNT", sender=admin)
    chain.transact(f.registerToken(token.address, 1), admin)
    user = s.users[1]
    chain.transact(token.functions.mint(user.address, 10**21), admin)
    chain.transact(token.functions.approve(s.rollup.address, 2 * 10**18), user)
    chain.transact(f.depositToken(1, 10**18, user.address), user)  # the first deposit of a token opens an account
    return {
        "optimistic.gas.batch_queue_progress": receipt.gasUsed,
        "optimistic.gas.batch_queue_progress_entries": MAX_QUEUE_COUNT,
        "optimistic.gas.deposit_token": chain.transact(f.depositToken(1, 10**18, user.address), user).gasUsed,
    }


SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SWEEP_QUICK = (1, 4, 16, 64, 256, 1024)
SWEEP_PREFIX = "optimistic.gas_per_transfer.batch_"


@benchmark(
    metrics=[
        Metric(f"{SWEEP_PREFIX}{n}", unit="gas", better="lower",
               reference="the previous format 4,347 at 256 (ECDSA + a root per transfer); plain transfer 21,000"
               if n == 256 else "")
        for n in SWEEP
    ]
)
def bench_batch_sizes(ctx) -> dict[str, float]:
    """Layer-1 gas per transfer of batches of 1, 2, 4, ... 1,024 transfers with every byte non-zero (accounts
    of a million-account tree), in commitments of k: what `--plot` draws."""
    s = RollupSetup(ctx.chain(), users=2)
    out = {}
    for n in SWEEP_QUICK if ctx.quick else SWEEP:
        receipt, _ = s.dense_batch_of(n)
        out[f"{SWEEP_PREFIX}{n}"] = receipt.gasUsed / n
    return out


@benchmark(
    metrics=[
        Metric("optimistic.sequencer_durable_tx_per_s", unit="tx/s", better="higher",
               reference="the real Sequencer.submit: rules, tree, one fsynced SQLite commit per transfer; "
                         "signatures checked per commitment"),
        *beside_commit_metrics("optimistic", "tx", 1.0),
    ]
)
def bench_durable_sequencer(ctx) -> dict[str, float]:
    """Transfers a second the real sequencer acknowledges (each journaled before `submit` returns), on a
    rollup deployed on the embedded chain."""
    import tempfile
    import time
    from pathlib import Path

    from l2.designs.optimistic.l1 import RollupClient
    from l2.designs.optimistic.sequencer import Sequencer
    from l2.runtime.service import run_round

    chain = ctx.chain()
    s = RollupSetup(chain, users=2, k=32)
    count = 300 if ctx.quick else 2000
    domain = s.domain
    with tempfile.TemporaryDirectory(prefix="l2-rollup-bench-") as tmp:
        sequencer = Sequencer(RollupClient(chain, s.rollup.address), s.proposer, 1, Path(tmp) / "s.db",
                              max_batch=10**6)
        try:
            signed = []
            nonces = [0, 0]
            for i in range(count):
                a = i % 2
                tx = Transfer(a + 1, 2 - a, 10**12, 10**9)
                signed.append((tx, nonces[a], s.keys[a].sign(tx.message(domain, nonces[a]))))
                nonces[a] += 1

            def durable() -> float:
                start = time.perf_counter()
                for tx, nonce, signature in signed:
                    sequencer.submit(tx, nonce, signature)
                sequencer._close_all()  # the last commitments' signature checks, as posting would do them
                return count / (time.perf_counter() - start)

            speed, beside = ctx.durable_beside("optimistic", Path(tmp), durable)
            if any("posted" not in e.text for e in run_round([sequencer], urgent=True)):
                raise AssertionError("the benchmark's transfers did not post")
        finally:
            sequencer.close()
    return {"optimistic.sequencer_durable_tx_per_s": speed, **beside}
