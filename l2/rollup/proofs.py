"""Build the contract's `FraudProof` and claim arguments from a pre-state, using the same rules as `apply`.

A fraud proof opens the pre-state of one transition (accounts root + fee pool), proves the touched
accounts against it, and lets `Rollup.challengeTransition` re-execute. The second account (a
transfer's recipient) is proven against the tree *after* the sender's debit, as the contract checks it.
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from l2.rollup import batch as batch_mod
from l2.rollup import txs
from l2.rollup.batch import BatchHeader, Chunk
from l2.rollup.errors import InvalidTransaction
from l2.rollup.state import State, debit_sender
from l2.rollup.txs import MAX_ACCOUNTS, CollectFees, QueueEntry, QueueOp, Transfer, Withdraw

ZERO_ADDRESS = "0x" + "00" * 20
_EMPTY_WITNESS = (ZERO_ADDRESS, 0, [0, 0, 0, 0], [b"\0" * 32] * txs.TREE_DEPTH)
_EMPTY_ENTRY = (0, ZERO_ADDRESS, 0, 0, 0)


def witness(state: State, index: int) -> tuple:
    """The contract's `AccountWitness` for `index` in `state` (an empty leaf if no account)."""
    if not 0 <= index < MAX_ACCOUNTS:
        return _EMPTY_WITNESS
    account, siblings = state.proof(index)
    if account is None:
        return (ZERO_ADDRESS, 0, [0, 0, 0, 0], siblings)
    return (to_checksum_address(account.addr), account.nonce, list(account.balances), siblings)


def fraud_proof(header: BatchHeader, chunks: list[Chunk], position: int, pre_state: State, tx: txs.Tx,
                domain_sep: bytes) -> tuple:
    """`FraudProof` for transition `position` of a batch, given the correct state before it."""
    first = second = _EMPTY_WITNESS
    entry = _EMPTY_ENTRY
    if isinstance(tx, (Transfer, Withdraw)):
        first = witness(pre_state, tx.sender)
        if isinstance(tx, Transfer) and 0 <= tx.to < MAX_ACCOUNTS and tx.sender != tx.to:
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
        pre_state.accounts_root,
        list(pre_state.fees),
        first,
        second,
        entry,
    )


def decode_chunk(chunk: Chunk, entries: dict[int, QueueEntry], proposer: str | None = None) -> txs.Tx:
    """The transaction of a posted chunk, with what L1 adds attached: the queue entry of a QueueOp,
    the batch's `proposer` for CollectFees."""
    tx = txs.decode(chunk.body)
    return txs.attach(tx, entry=entries[chunk.queue_index] if isinstance(tx, QueueOp) else None, proposer=proposer)


__all__ = ["decode_chunk", "fraud_proof", "witness"]
