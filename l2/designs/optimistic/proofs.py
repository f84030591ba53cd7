"""Build the contract's `FraudProof` and claim arguments from a pre-state, using the same rules as `apply`.

A fraud proof opens the pre-state of one transition (accounts root, account count, fee pool), proves
the touched accounts against it, and lets `OptimisticRollup.challengeTransition` re-execute. The second account
(a transfer's recipient) is proven against the tree *after* the sender's debit, as the contract
checks it. A challenger first commits to `commitment(proof, challenger)` and reveals the proof in a
later block, so nobody who sees the proof in the mempool can claim its reward.
"""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import to_canonical_address, to_checksum_address

from l2.core.crypto import keccak
from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import txs
from l2.designs.optimistic.batch import BatchHeader, Chunk
from l2.designs.optimistic.errors import InvalidTransaction
from l2.designs.optimistic.state import State, debit_sender
from l2.designs.optimistic.txs import CollectFees, QueueEntry, QueueOp, Transfer, Withdrawal

ZERO_ADDRESS = "0x" + "00" * 20
_EMPTY_ENTRY = (0, ZERO_ADDRESS, 0, 0, 0)

# `Rollup.FraudProof` as an ABI tuple: header, target, previous, pre-state, two witnesses, queue entry.
_HEADER = "(uint64,uint64,address,bytes32,bytes32,uint64,uint64,uint64)"
_INCLUSION = "(uint64,uint64,bytes,bytes32[])"
_WITNESS = "(address,uint32,uint256[4],bytes32[])"
FRAUD_PROOF_TYPE = (f"({_HEADER},{_INCLUSION},{_INCLUSION},(bytes32,uint64,uint256[4]),{_WITNESS},{_WITNESS},"
                    "(uint8,address,uint32,uint8,uint256))")


def empty_witness(depth: int) -> tuple:
    """An `AccountWitness` for an index that needs no account (all zeros: the only valid opening of an empty leaf)."""
    return (ZERO_ADDRESS, 0, [0, 0, 0, 0], [b"\0" * 32] * depth)


def witness(state: State, index: int) -> tuple:
    """The contract's `AccountWitness` for `index` in `state` (an empty leaf if no account)."""
    if not 0 <= index < state.capacity:
        return empty_witness(state.depth)
    account, siblings = state.proof(index)
    if account is None:
        return (ZERO_ADDRESS, 0, [0, 0, 0, 0], siblings)
    return (to_checksum_address(account.addr), account.nonce, list(account.balances), siblings)


def fraud_proof(header: BatchHeader, chunks: list[Chunk], position: int, pre_state: State, tx: txs.Tx,
                domain_sep: bytes) -> tuple:
    """`FraudProof` for transition `position` of a batch, given the correct state before it."""
    first = second = empty_witness(pre_state.depth)
    entry = _EMPTY_ENTRY
    if isinstance(tx, (Transfer, Withdrawal)):
        first = witness(pre_state, tx.sender)
        if isinstance(tx, Transfer) and 0 <= tx.to < pre_state.capacity and tx.sender != tx.to:
            try:
                debited = debit_sender(pre_state, tx, domain_sep)
            except InvalidTransaction:
                debited = None
            if debited is not None:
                second = witness(pre_state.with_account(tx.sender, debited), tx.to)
    elif isinstance(tx, QueueOp):
        first = witness(pre_state, tx.account)
        entry = tx.entry.as_tuple()
    elif isinstance(tx, CollectFees):
        first = witness(pre_state, tx.account)
    previous = batch_mod.inclusion(chunks, position - 1) if position > 0 else (0, 0, b"", [])
    return (
        header.as_tuple(),
        batch_mod.inclusion(chunks, position),
        previous,
        (pre_state.accounts_root, pre_state.account_count, list(pre_state.fees)),
        first,
        second,
        entry,
    )


def commitment(proof: tuple, challenger: str) -> bytes:
    """`OptimisticRollup.commitmentOf(proof, challenger)`: keccak(abi.encode(keccak(abi.encode(proof)), challenger))."""
    inner = keccak(abi_encode([FRAUD_PROOF_TYPE], [proof]))
    return keccak(inner + to_canonical_address(challenger).rjust(32, b"\0"))


def decode_chunk(chunk: Chunk, entries: dict[int, QueueEntry], proposer: str | None = None) -> txs.Tx:
    """The transaction of a posted chunk, with what L1 adds attached: the queue entry of a QueueOp,
    the batch's `proposer` for CollectFees."""
    tx = txs.decode(chunk.body)
    return txs.attach(tx, entry=entries[chunk.queue_index] if isinstance(tx, QueueOp) else None, proposer=proposer)


__all__ = ["commitment", "decode_chunk", "empty_witness", "fraud_proof", "witness"]
