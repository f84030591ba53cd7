"""The one keccak and the one ECDSA signer and recoverer of the project (secp256k1, as Ethereum uses it).

keccak256: safe-pysha3's C keccak costs ~1 us a call against ~7 us for eth-hash's pycryptodome backend;
the rollup hashes ~45 times per transfer and a channel payment four times, so it is used whenever it is
installed. Signing and recovery call libsecp256k1 through coincurve directly: a channel payment is two
signatures and two recoveries, a rollup transfer one recovery, the hot paths of both designs.

Signatures are 65 bytes `r || s || v` (v = 27/28, low s) or EIP-2098's 64 bytes `r || vs`. Recovery
refuses what `contracts/lib/Signatures.sol` refuses: a wrong length or v, a high s (malleable twin),
r or s of zero, r past the curve order.
"""

from __future__ import annotations

import coincurve
from eth_utils import to_checksum_address

from l2.errors import InvalidSignature

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - depends on the environment
    from eth_hash.auto import keccak as _eth_hash_keccak

    def keccak(data: bytes) -> bytes:
        return _eth_hash_keccak(data)


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2
_LOW_255 = (1 << 255) - 1


class Signer:
    """A private key kept as a libsecp256k1 object; signs 32-byte digests as r || s || v (low s)."""

    def __init__(self, private_key: bytes):
        self._key = coincurve.PrivateKey(bytes(private_key))
        self.address = address_of_public_key(self._key.public_key.format(compressed=False))

    def sign(self, digest: bytes) -> bytes:
        sig = self._key.sign_recoverable(digest, hasher=None)  # r || s || recid, s already low
        return sig[:64] + bytes([sig[64] + 27])

    def sign_compact(self, digest: bytes) -> bytes:
        """The EIP-2098 form (64 bytes)."""
        return to_compact(self.sign(digest))


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte digest with `private_key`: 65 bytes r || s || v."""
    return Signer(private_key).sign(digest)


_ADDRESSES: dict[bytes, str] = {}  # public key -> checksum address: a party sees the same few keys all day


def address_of_public_key(uncompressed: bytes) -> str:
    address = _ADDRESSES.get(uncompressed)
    if address is None:
        address = to_checksum_address(keccak(uncompressed[1:])[-20:])
        if len(_ADDRESSES) < 10_000:
            _ADDRESSES[uncompressed] = address
    return address


def check_format(signature: bytes | None) -> None:
    """The checks that need no elliptic-curve work (what Signatures.sol refuses); InvalidSignature."""
    if signature is None or len(signature) != 65:
        raise InvalidSignature(f"signature must be 65 bytes, got {0 if signature is None else len(signature)}")
    v = signature[64]
    if v not in (27, 28):
        raise InvalidSignature(f"signature v must be 27 or 28, got {v}")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    if s > SECP256K1_HALF_N:
        raise InvalidSignature("signature has a high s value (malleable); only low-s signatures are valid")
    if r == 0 or s == 0 or r >= SECP256K1_N:
        raise InvalidSignature("signature has r or s equal to zero, or r past the curve order")


def recover(digest: bytes, signature: bytes) -> str:
    """Checksummed address that signed `digest` (65 bytes); InvalidSignature if malformed, malleable or
    unrecoverable."""
    check_format(signature)
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes([signature[64] - 27]),
                                                                    digest, hasher=None)
    except Exception as exc:  # noqa: BLE001 - coincurve raises plain ValueError/Exception on garbage
        raise InvalidSignature(f"signature does not recover to any key: {exc}") from None
    return address_of_public_key(public_key.format(compressed=False))


def check_signer(digest: bytes, signature: bytes, expected: str, what: str) -> None:
    """InvalidSignature unless `signature` on `digest` is by `expected`."""
    signer = recover(digest, signature)
    if signer != expected:
        raise InvalidSignature(f"{what} is signed by {signer}, expected {expected}")


def try_recover_compact(digest: bytes, compact: bytes) -> bytes | None:
    """20-byte address that signed `digest` (EIP-2098, 64 bytes), or None for anything a contract's
    `Signatures.tryRecoverCompact` would refuse. Never raises, and never checksums: a rollup
    re-executes transfers with it, where a bad signature makes the transaction invalid, not the caller."""
    if len(compact) != 64:
        return None
    vs = int.from_bytes(compact[32:], "big")
    s = vs & _LOW_255
    r = int.from_bytes(compact[:32], "big")
    if s > SECP256K1_HALF_N or s == 0 or r == 0 or r >= SECP256K1_N:
        return None
    try:
        public = coincurve.PublicKey.from_signature_and_message(compact[:32] + s.to_bytes(32, "big")
                                                                + bytes([vs >> 255]), digest, hasher=None)
    except Exception:  # noqa: BLE001 - coincurve raises plain Exception/ValueError for unrecoverable input
        return None
    return keccak(public.format(compressed=False)[1:])[12:]


def to_compact(signature: bytes) -> bytes:
    """EIP-2098: 64 bytes r || vs, where the top bit of vs carries v - 27."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (s | ((v - 27) << 255)).to_bytes(32, "big")


def from_compact(compact: bytes) -> bytes:
    """Inverse of `to_compact`: a 64-byte EIP-2098 signature back to 65 bytes."""
    if len(compact) != 64:
        raise InvalidSignature(f"compact signature must be 64 bytes, got {len(compact)}")
    vs = int.from_bytes(compact[32:], "big")
    return compact[:32] + (vs & _LOW_255).to_bytes(32, "big") + bytes([(vs >> 255) + 27])
