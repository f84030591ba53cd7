"""BabyJubJub and EdDSA-Poseidon, bit for bit like circomlib(js).

A private key is any byte string; as in circomlibjs it is stretched with BLAKE-512 (the SHA-3 finalist,
not BLAKE2), pruned, and shifted into a scalar. A signature is (R8, S) over one field element, with
`Poseidon(R8.x, R8.y, A.x, A.y, msg)` as the challenge; circomlib's `EdDSAPoseidonVerifier` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.designs.zk.errors import BadSignature
from l2.designs.zk.poseidon import P, poseidon

A_COEFF = 168700
D_COEFF = 168696
SUBORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041
BASE8 = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
Point = tuple[int, int]
IDENTITY: Point = (0, 1)


def add(p: Point, q: Point) -> Point:
    x1, y1 = p
    x2, y2 = q
    k = D_COEFF * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + k, -1, P) % P
    y3 = (y1 * y2 - A_COEFF * x1 * x2) * pow(1 - k, -1, P) % P
    return x3, y3


def _add_extended(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The same (complete) addition in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, T = XY/Z:
    no inversion (add-2008-hwcd)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = x1 * x2 % P, y1 * y2 % P
    c, d = D_COEFF * t1 % P * t2 % P, z1 * z2 % P
    e = ((x1 + y1) * (x2 + y2) - a - b) % P
    f, g, h = (d - c) % P, (d + c) % P, (b - A_COEFF * a) % P
    return e * f % P, g * h % P, f * g % P, e * h % P


def mul(point: Point, scalar: int) -> Point:
    """scalar * point, double-and-add in extended coordinates: one inversion in all, where affine additions
    take two each (signing and checking a transfer went from ~30 ms to a few)."""
    result = (0, 1, 1, 0)
    addend = (point[0], point[1], 1, point[0] * point[1] % P)
    while scalar:
        if scalar & 1:
            result = _add_extended(result, addend)
        addend = _add_extended(addend, addend)
        scalar >>= 1
    x, y, z, _ = result
    over_z = pow(z, -1, P)
    return x * over_z % P, y * over_z % P


def on_curve(point: Point) -> bool:
    x, y = point
    xx, yy = x * x % P, y * y % P
    return (A_COEFF * xx + yy - 1 - D_COEFF * xx * yy) % P == 0


# --- BLAKE-512 (Aumasson et al., 2008): only the hash-a-byte-string path, no salt ---------------

_MASK = (1 << 64) - 1
_IV = (0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
       0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179)
_C = (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
      0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917,
      0x9216D5D98979FB1B, 0xD1310BA698DFB5AC, 0x2FFD72DBD01ADFB7, 0xB8E1AFED6A267E96,
      0xBA7C9045F12C7F99, 0x24A19947B3916CF7, 0x0801F2E2858EFC16, 0x636920D871574E69)
_SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
_STEPS = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
          (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _MASK


def _compress(h: list[int], block: bytes, counter: int) -> list[int]:
    m = [int.from_bytes(block[i:i + 8], "big") for i in range(0, 128, 8)]
    lo, hi = counter & _MASK, counter >> 64
    v = list(h) + [_C[0], _C[1], _C[2], _C[3], lo ^ _C[4], lo ^ _C[5], hi ^ _C[6], hi ^ _C[7]]
    for r in range(16):
        s = _SIGMA[r % 10]
        for i, (a, b, c, d) in enumerate(_STEPS):
            x, y = s[2 * i], s[2 * i + 1]
            v[a] = (v[a] + v[b] + (m[x] ^ _C[y])) & _MASK
            v[d] = _rotr(v[d] ^ v[a], 32)
            v[c] = (v[c] + v[d]) & _MASK
            v[b] = _rotr(v[b] ^ v[c], 25)
            v[a] = (v[a] + v[b] + (m[y] ^ _C[x])) & _MASK
            v[d] = _rotr(v[d] ^ v[a], 16)
            v[c] = (v[c] + v[d]) & _MASK
            v[b] = _rotr(v[b] ^ v[c], 11)
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


def blake512(data: bytes) -> bytes:
    bits = len(data) * 8
    padded = bytearray(data) + b"\x80"
    while len(padded) % 128 != 112:
        padded.append(0)
    padded[-1] |= 1
    padded += bits.to_bytes(16, "big")
    h = list(_IV)
    for offset in range(0, len(padded), 128):
        # The counter is the message bits up to this block; a block of padding only counts 0.
        counted = min(bits, (offset + 128) * 8)
        h = _compress(h, bytes(padded[offset:offset + 128]), 0 if offset * 8 >= bits and bits else counted)
    return b"".join(x.to_bytes(8, "big") for x in h)


# --- EdDSA-Poseidon ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signature:
    r8: Point
    s: int


def _expanded(private_key: bytes) -> tuple[int, bytes]:
    h = bytearray(blake512(private_key))
    h[0] &= 0xF8
    h[31] = (h[31] & 0x7F) | 0x40
    return int.from_bytes(h[:32], "little"), bytes(h[32:])


def public_key(private_key: bytes) -> Point:
    s, _ = _expanded(private_key)
    return mul(BASE8, s >> 3)


def sign(private_key: bytes, msg: int) -> Signature:
    s, prefix = _expanded(private_key)
    a = mul(BASE8, s >> 3)
    r = int.from_bytes(blake512(prefix + (msg % P).to_bytes(32, "little")), "little") % SUBORDER
    r8 = mul(BASE8, r)
    hm = poseidon([r8[0], r8[1], a[0], a[1], msg])
    return Signature(r8, (r + hm * s) % SUBORDER)


def verify(pub: Point, msg: int, sig: Signature) -> bool:
    if sig.s >= SUBORDER or not on_curve(sig.r8) or not on_curve(pub):
        return False
    hm = poseidon([sig.r8[0], sig.r8[1], pub[0], pub[1], msg])
    return mul(BASE8, sig.s) == add(sig.r8, mul(pub, 8 * hm))


def check(pub: Point, msg: int, sig: Signature) -> None:
    if not verify(pub, msg, sig):
        raise BadSignature("the EdDSA-Poseidon signature does not verify under the account's key")
