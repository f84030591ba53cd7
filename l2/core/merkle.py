"""The one binary Merkle tree of the project, twin of `contracts/lib/MerkleTree.sol`.

node = keccak(left || right); a level with an odd number of nodes pairs its last one with 32 zero
bytes. A sparse tree of fixed depth (the optimistic rollup's accounts) is the same tree with every leaf
present, an empty leaf being zero; its incremental store lives with its state (`NodeStore`), and its
paths check with `root_from` like any other.
"""

from __future__ import annotations

from l2.core.crypto import keccak

ZERO = b"\0" * 32


def depth(n: int) -> int:
    """Levels of a tree over `n` leaves (0 for one leaf)."""
    d = 0
    while (1 << d) < n:
        d += 1
    return d


def levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level, leaves first, root last."""
    out = [list(leaves)]
    while len(out[-1]) > 1:
        cur = out[-1]
        out.append([keccak(cur[i] + (cur[i + 1] if i + 1 < len(cur) else ZERO)) for i in range(0, len(cur), 2)])
    return out


def root(leaves: list[bytes]) -> bytes:
    return levels(leaves)[-1][0]


def path(leaves: list[bytes], position: int) -> list[bytes]:
    """Siblings of leaf `position`, bottom-up."""
    out = []
    for level in levels(leaves)[:-1]:
        sibling = position ^ 1
        out.append(level[sibling] if sibling < len(level) else ZERO)
        position >>= 1
    return out


def root_from(leaf: bytes, index: int, siblings: list[bytes]) -> bytes:
    """The root reached from `leaf` at `index` with `siblings` (bottom-up)."""
    node = leaf
    for i, sibling in enumerate(siblings):
        node = keccak(node + sibling) if (index >> i) & 1 == 0 else keccak(sibling + node)
    return node
