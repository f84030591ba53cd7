"""BLS12-381 signatures as the optimistic rollup uses them: keys in G2, signatures in G1 ("min-sig").

Why this shape. A rollup transfer must not carry its signature in calldata (96 of the 113 bytes of the
old format were an ECDSA signature and a root). BLS signatures aggregate: a commitment of k transfers
carries one 96-byte G1 point that a fraud proof checks against the k signed messages and the senders'
registered keys with one pairing-check precompile call (EIP-2537, Prague). Signatures live in G1 (48
bytes compressed, the cheap group) and keys in G2, as Hubble and Ethereum's sync aggregates do the
opposite way round for their own reasons.

Rogue keys: a key is accepted only with a proof of possession, a signature under its own domain tag
(`DST_POSSESSION`, never used for transfers) over a message naming the key and its owner; so nobody can
register `pk_evil = pk_x - pk_alice` to forge an aggregate for Alice. The same check runs in
`contracts/lib/BLS.sol` when the key is registered on Layer 1.

Hashing to G1 is RFC 9380 (expand_message_xmd with SHA-256, simplified SWU, as blst does); the
contract rebuilds it from the SHA-256, MODEXP, MAP_FP_TO_G1 and G1ADD precompiles, and
`tests/test_bls.py` checks that both give the same point for the same message.

Encodings: blst's compressed form (48 bytes G1, 96 bytes G2, ZCash flag bits) is what Python stores;
EIP-2537's form (every coordinate in 64 bytes, left-padded) is what the precompiles read; calldata carries
a signature as 96 bytes `x || y` (the padding is zeros, which the contract adds back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyblst

from l2.core.crypto import keccak
from l2.errors import InvalidSignature

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

# The domain tags of the proof-of-possession scheme (RFC draft-irtf-cfrg-bls-signature, min-sig).
DST_SIGNATURE = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_"
DST_POSSESSION = b"BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_"

G1_COMPRESSED = 48
G2_COMPRESSED = 96
G1_CALLDATA = 96  # x || y, 48 bytes each
G1_EVM = 128  # EIP-2537: x || y, 64 bytes each
G2_EVM = 256  # EIP-2537: x.c0 || x.c1 || y.c0 || y.c1, 64 bytes each

_G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb")
_G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8")
G1_GENERATOR = pyblst.BlstP1Element.uncompress(_G1_GENERATOR)
G2_GENERATOR = pyblst.BlstP2Element.uncompress(_G2_GENERATOR)
_G1_INFINITY = pyblst.BlstP1Element().compress()
_G2_INFINITY = pyblst.BlstP2Element().compress()


class InvalidBlsPoint(InvalidSignature):
    """Bytes that are not a point of the right group (wrong length, off the curve, outside the subgroup,
    or the point at infinity where a key or signature is expected)."""


@dataclass(frozen=True)
class BlsKey:
    """A BLS secret key and its public key (G2, compressed)."""

    secret: int
    public: bytes

    @classmethod
    def from_secret(cls, secret: int) -> BlsKey:
        secret %= R
        if secret == 0:
            raise InvalidBlsPoint("a BLS secret key must not be zero modulo the group order")
        return cls(secret, G2_GENERATOR.scalar_mul(secret).compress())

    @classmethod
    def derive(cls, ethereum_key: bytes) -> BlsKey:
        """The BLS key a wallet keeps next to its Ethereum key: one secret, nothing more to back up.
        (A hash of the Ethereum key under a tag of its own; knowing the BLS key reveals nothing of it.)"""
        return cls.from_secret(int.from_bytes(keccak(b"l2 BLS12-381 key\x00" + ethereum_key), "big"))

    def sign(self, message: bytes, dst: bytes = DST_SIGNATURE) -> bytes:
        return pyblst.BlstP1Element.hash_to_group(message, dst).scalar_mul(self.secret).compress()

    def prove_possession(self, message: bytes) -> bytes:
        """A signature under the possession tag; `message` names this key and its owner (see the rollup's
        `registration_message`)."""
        return self.sign(message, DST_POSSESSION)


def _g1(data: bytes) -> pyblst.BlstP1Element:
    if len(data) != G1_COMPRESSED or data == _G1_INFINITY:
        raise InvalidBlsPoint(f"not a G1 signature: {len(data)} bytes")
    try:
        return pyblst.BlstP1Element.uncompress(bytes(data))
    except Exception as exc:  # blst's own error type is not exported
        raise InvalidBlsPoint(f"not a G1 point: {exc}") from None


def _g2(data: bytes) -> pyblst.BlstP2Element:
    if len(data) != G2_COMPRESSED or data == _G2_INFINITY:
        raise InvalidBlsPoint(f"not a G2 public key: {len(data)} bytes")
    try:
        return pyblst.BlstP2Element.uncompress(bytes(data))
    except Exception as exc:
        raise InvalidBlsPoint(f"not a G2 point: {exc}") from None


def check_public_key(public: bytes) -> None:
    """Raise InvalidBlsPoint unless `public` is a valid G2 key (on the curve, in the subgroup, not zero)."""
    _g2(public)


def aggregate(signatures: list[bytes]) -> bytes:
    """The sum of G1 signatures (one 48-byte point however many were added)."""
    if not signatures:
        raise InvalidBlsPoint("nothing to aggregate")
    total = _g1(signatures[0])
    for s in signatures[1:]:
        total = total + _g1(s)
    return total.compress()


def verify_aggregate(public_keys: list[bytes], messages: list[bytes], signature: bytes,
                     dst: bytes = DST_SIGNATURE) -> bool:
    """Whether `signature` aggregates a signature of each `messages[i]` by `public_keys[i]`.

    Keys must have been admitted with a proof of possession (so messages need not be distinct). Messages
    signed by one key are hashed and added first: one Miller loop per distinct key, plus one."""
    if len(public_keys) != len(messages) or not messages:
        return False
    try:
        sig = _g1(signature)
        by_key: dict[bytes, pyblst.BlstP1Element] = {}
        for key, message in zip(public_keys, messages, strict=True):
            point = pyblst.BlstP1Element.hash_to_group(message, dst)
            by_key[key] = by_key[key] + point if key in by_key else point
        product = None
        for key, point in by_key.items():
            loop = pyblst.miller_loop(point, _g2(key))
            product = loop if product is None else product * loop
    except InvalidBlsPoint:
        return False
    return bool(pyblst.final_verify(pyblst.miller_loop(sig, G2_GENERATOR), product))


def verify(public_key: bytes, message: bytes, signature: bytes, dst: bytes = DST_SIGNATURE) -> bool:
    return verify_aggregate([public_key], [message], signature, dst)


def verify_possession(public_key: bytes, message: bytes, proof: bytes) -> bool:
    return verify(public_key, message, proof, DST_POSSESSION)


# --- EIP-2537 encodings -------------------------------------------------------------------------

def _pad(value: int) -> bytes:
    return value.to_bytes(64, "big")


def _g1_affine(data: bytes) -> tuple[int, int]:
    point = _g1(data)  # validates
    raw = point.compress()
    x = int.from_bytes(raw, "big") & ((1 << 381) - 1)
    y = pow((x * x * x + 4) % P, (P + 1) // 4, P)  # P = 3 mod 4: this is the square root
    if (y > (P - 1) // 2) != bool(raw[0] & 0x20):  # the flag marks the larger of y, P - y
        y = P - y
    return x, y


def g1_calldata(signature: bytes) -> bytes:
    """A compressed G1 signature as the 96 bytes `x || y` a commitment carries."""
    x, y = _g1_affine(signature)
    return x.to_bytes(48, "big") + y.to_bytes(48, "big")


def g1_from_calldata(data: bytes) -> bytes:
    """The compressed signature behind 96 calldata bytes; InvalidBlsPoint if they are not a G1 point."""
    if len(data) != G1_CALLDATA:
        raise InvalidBlsPoint(f"a signature is {G1_CALLDATA} bytes x || y, not {len(data)}")
    x, y = int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")
    if x >= P or y >= P or (y * y - x * x * x - 4) % P:
        raise InvalidBlsPoint("not on the G1 curve")
    flags = 0x80 | (0x20 if y > (P - 1) // 2 else 0)
    compressed = bytes([data[0] | flags]) + data[1:48]
    _g1(compressed)  # the subgroup check
    return compressed


def g1_evm(signature: bytes) -> bytes:
    x, y = _g1_affine(signature)
    return _pad(x) + _pad(y)


def hash_to_g1_evm(message: bytes, dst: bytes = DST_SIGNATURE) -> bytes:
    """RFC 9380 hash of `message` to G1, in EIP-2537's encoding (what BLS.sol's hashToG1 returns)."""
    return g1_evm(pyblst.BlstP1Element.hash_to_group(message, dst).compress())


def g2_evm(public_key: bytes) -> bytes:
    """A compressed G2 key in EIP-2537's 256-byte encoding."""
    from py_ecc.bls.point_compression import decompress_G2
    from py_ecc.optimized_bls12_381 import normalize

    _g2(public_key)  # validates before py_ecc's slower decoding
    compressed: Any = (int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big"))
    x, y = normalize(decompress_G2(compressed))
    return b"".join(_pad(int(c)) for c in (*x.coeffs, *y.coeffs))


def g2_evm_negated_generator() -> bytes:
    """-G2's generator (the pairing check is e(sig, -g2) * prod e(H(m_i), pk_i) == 1)."""
    raw = g2_evm(G2_GENERATOR.compress())
    x0, x1, y0, y1 = (int.from_bytes(raw[i:i + 64], "big") for i in range(0, 256, 64))
    return _pad(x0) + _pad(x1) + _pad((P - y0) % P) + _pad((P - y1) % P)


def g2_from_evm(data: bytes) -> bytes:
    """The compressed key behind a 256-byte EIP-2537 G2 point (as `KeyRegistered` reports it);
    InvalidBlsPoint unless it is a valid key in its canonical encoding."""
    if len(data) != G2_EVM:
        raise InvalidBlsPoint(f"a G2 point is {G2_EVM} bytes, not {len(data)}")
    if any(data[i:i + 16] != b"\0" * 16 for i in range(0, G2_EVM, 64)):
        raise InvalidBlsPoint("a coordinate has non-zero padding")
    x0, x1, y0, y1 = (int.from_bytes(data[i:i + 64], "big") for i in range(0, G2_EVM, 64))
    larger = y1 > (P - 1) // 2 if y1 else y0 > (P - 1) // 2  # ZCash's sign: c1 first, then c0
    compressed = ((0x80 | (0x20 if larger else 0)) << 376 | x1).to_bytes(48, "big") + x0.to_bytes(48, "big")
    if g2_evm(compressed) != bytes(data):  # validates the point and that y is the one the flag names
        raise InvalidBlsPoint("not a point of G2")
    return compressed
