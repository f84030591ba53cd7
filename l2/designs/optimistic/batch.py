"""Batch data, the per-batch transaction tree and headers, exactly as `OptimisticRollup.submitBatch` commits them.

A batch's data is the concatenation of chunks `tx body || post-state root`. Each chunk's leaf is
keccak(chunk || uint64 queueCursor), where the cursor is the L1 queue position when the chunk is
reached (a QueueOp consumes the entry at the cursor). Leaves form the project's binary Merkle tree
(`l2.core.merkle`, an odd node paired with bytes32(0)).
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.core import merkle
from l2.core.crypto import keccak
from l2.designs.optimistic import txs
from l2.designs.optimistic.errors import UndecodableTransaction


@dataclass(frozen=True)
class Chunk:
    body: bytes  # encoded transaction
    post_root: bytes
    queue_index: int  # queue cursor at this chunk

    @property
    def data(self) -> bytes:
        return self.body + self.post_root

    @property
    def leaf(self) -> bytes:
        return keccak(self.data + self.queue_index.to_bytes(8, "big"))


@dataclass(frozen=True)
class BatchHeader:
    index: int
    timestamp: int
    proposer: str
    prev_root: bytes
    tx_root: bytes
    tx_count: int
    queue_start: int
    queue_end: int

    def as_tuple(self) -> tuple:
        return (
            self.index,
            self.timestamp,
            self.proposer,
            self.prev_root,
            self.tx_root,
            self.tx_count,
            self.queue_start,
            self.queue_end,
        )


def make_chunks(bodies_and_roots: list[tuple[bytes, bytes]], queue_start: int) -> list[Chunk]:
    """Chunks with their queue cursors, from (encoded tx, post root) pairs in batch order."""
    chunks, cursor = [], queue_start
    for body, root in bodies_and_roots:
        chunks.append(Chunk(body, root, cursor))
        if body[0] == txs.TX_QUEUE:
            cursor += 1
    return chunks


def encode(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data for c in chunks)


def split(data: bytes, queue_start: int) -> list[Chunk]:
    """Split posted batch data into chunks (the contract already refused anything that does not split)."""
    pairs, pos = [], 0
    while pos < len(data):
        kind = data[pos]
        length = txs.BODY_LENGTH.get(kind)
        if length is None or pos + length + 32 > len(data):
            raise UndecodableTransaction(f"batch data does not decode at offset {pos}")
        pairs.append((data[pos : pos + length], data[pos + length : pos + length + 32]))
        pos += length + 32
    return make_chunks(pairs, queue_start)


def tx_root(chunks: list[Chunk]) -> bytes:
    return merkle.root([c.leaf for c in chunks])


def tx_path(chunks: list[Chunk], position: int) -> list[bytes]:
    """Merkle path (bottom-up) of chunk `position` in the batch's transaction tree."""
    return merkle.path([c.leaf for c in chunks], position)


def inclusion(chunks: list[Chunk], position: int) -> tuple:
    """The contract's `Inclusion` struct for chunk `position`."""
    chunk = chunks[position]
    return (position, chunk.queue_index, chunk.data, tx_path(chunks, position))
