"""EIP-2537's pairing check for the embedded chain, computed by blst instead of py_ecc.

py-evm implements BLS12-381 in pure Python: one pairing check of two pairs (a proof of possession, a
one-key signature) takes ~3.5 s, and eth-tester's gas estimation runs a transaction a dozen times, so
registering one BLS key cost ~45 s of a test. This is the same precompile (address 0x0f) with the same
gas, the same inputs refused (lengths, coordinates >= p, points off the curve or outside the prime-order
subgroup: a VMError, which consumes all the call's gas) and the same answer, with blst (pyblst, already
the project's BLS library) doing the curve arithmetic. `tests/test_precompiles.py` checks it against
py-evm's own implementation on valid and forged inputs. Only the embedded chain uses it; a node (anvil)
has its own native precompiles.
"""

from __future__ import annotations

import pyblst
from eth.exceptions import VMError

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
PAIR_LENGTH = 384  # a G1 point (128 bytes) and a G2 point (256 bytes), each coordinate in 64 bytes
PAIRING_GAS_PER_PAIR, PAIRING_BASE_GAS = 32_600, 37_700
PAIRING_ADDRESS = (0x0F).to_bytes(20, "big")

_G1_INFINITY = pyblst.BlstP1Element().compress()
_G2_INFINITY = pyblst.BlstP2Element().compress()
_HALF = (P - 1) // 2


def _fp(data: bytes) -> int:
    value = int.from_bytes(data, "big")
    if value >= P:  # also catches non-zero padding in the top 16 of its 64 bytes
        raise VMError("coordinate >= field modulus")
    return value


def _fp2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return (a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P


def _flags(larger: bool) -> int:
    """The compressed encoding's top bits: compressed, and which of y and -y (ZCash's serialization)."""
    return 0x80 | (0x20 if larger else 0)


def _g1(data: bytes) -> pyblst.BlstP1Element | None:
    """The G1 point of 128 bytes, None for infinity; VMError off the curve or outside the subgroup."""
    x, y = _fp(data[:64]), _fp(data[64:])
    if x == 0 and y == 0:
        return None
    if (y * y - x * x * x - 4) % P:
        raise VMError("G1 point is not on curve")
    compressed = bytearray(x.to_bytes(48, "big"))
    compressed[0] |= _flags(y > _HALF)
    point = _uncompress(pyblst.BlstP1Element, bytes(compressed))
    if point.scalar_mul(R).compress() != _G1_INFINITY:
        raise VMError("G1 point is not in the subgroup")
    return point


def _g2(data: bytes) -> pyblst.BlstP2Element | None:
    """The G2 point of 256 bytes (x.c0, x.c1, y.c0, y.c1), None for infinity; VMError as for G1."""
    x0, x1, y0, y1 = (_fp(data[i:i + 64]) for i in range(0, 256, 64))
    if x0 == x1 == y0 == y1 == 0:
        return None
    x, y = (x0, x1), (y0, y1)
    x3 = _fp2_mul(_fp2_mul(x, x), x)
    y2 = _fp2_mul(y, y)
    if (y2[0] - x3[0] - 4) % P or (y2[1] - x3[1] - 4) % P:  # y^2 = x^3 + 4(1 + u)
        raise VMError("G2 point is not on curve")
    compressed = bytearray(x1.to_bytes(48, "big") + x0.to_bytes(48, "big"))  # c1 first when compressed
    compressed[0] |= _flags(y1 > _HALF if y1 else y0 > _HALF)
    point = _uncompress(pyblst.BlstP2Element, bytes(compressed))
    if point.scalar_mul(R).compress() != _G2_INFINITY:
        raise VMError("G2 point is not in the subgroup")
    return point


def _uncompress(kind, compressed: bytes):
    try:
        return kind.uncompress(compressed)
    except Exception as exc:  # noqa: BLE001 - blst refuses a point in its own words; the EVM only fails the call
        raise VMError(f"not a point: {exc}") from None


def bls12_pairing_check(computation) -> None:
    """EIP-2537 PAIRING_CHECK: 1 if the product of e(P_i, Q_i) is one, 0 if not; VMError on bad input."""
    data = computation.msg.data
    if len(data) == 0 or len(data) % PAIR_LENGTH:
        raise VMError("Length of data must be a multiple of 384 bytes for BLS12_PAIRING_CHECK")
    k = len(data) // PAIR_LENGTH
    computation.consume_gas(PAIRING_GAS_PER_PAIR * k + PAIRING_BASE_GAS, "BLS12_PAIRING_CHECK gas")
    pairs = []
    for i in range(k):
        pair = data[i * PAIR_LENGTH:(i + 1) * PAIR_LENGTH]
        p, q = _g1(pair[:128]), _g2(pair[128:])
        if p is not None and q is not None:  # a pair with infinity contributes e = 1
            pairs.append((p, q))
    if not pairs:
        one = True
    elif len(pairs) == 1:
        one = False  # the pairing is non-degenerate: e(P, Q) = 1 only when P or Q is infinity
    else:
        # prod e(P_i, Q_i) = 1  <=>  FE(prod_{i<n} ML(P_i, Q_i)) = FE(ML(-P_n, Q_n))
        product = pyblst.miller_loop(*pairs[0])
        for p, q in pairs[1:-1]:
            product = product * pyblst.miller_loop(p, q)
        last_p, last_q = pairs[-1]
        one = bool(pyblst.final_verify(product, pyblst.miller_loop(-last_p, last_q)))
    computation.output = (1 if one else 0).to_bytes(32, "big")


def install() -> None:
    """Make py-evm's Prague computations (the embedded chain's) use this pairing check."""
    from eth.vm.forks.prague.computation import PragueComputation

    PragueComputation._precompiles[PAIRING_ADDRESS] = bls12_pairing_check
