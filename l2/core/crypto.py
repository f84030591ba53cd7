"""keccak256 for the rollup's hot paths (Merkle updates, leaf hashes).

eth-hash's pycryptodome backend costs ~7 us a call in Python overhead; safe-pysha3's C
keccak ~1 us. The sequencer hashes ~45 times per transfer, so this alone moves operator
throughput several-fold. Falls back to eth-hash when safe-pysha3 is not installed.
"""

from __future__ import annotations

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - depends on the environment
    from eth_hash.auto import keccak as _eth_hash_keccak

    def keccak(data: bytes) -> bytes:
        return _eth_hash_keccak(data)
