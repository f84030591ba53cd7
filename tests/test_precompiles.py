"""The embedded chain's EIP-2537 pairing check (blst) answers, charges and refuses exactly as py-evm's own
(py_ecc), on valid pairs and on forged ones: off the curve, outside the subgroup, coordinates >= p,
non-zero padding, bad lengths. py-evm's is slow (seconds a pair): the cases are few and small."""

from __future__ import annotations

import pytest
from eth.exceptions import VMError
from eth.precompiles import bls12_pairing_check as pyevm_pairing_check
from py_ecc.bls.hash_to_curve import map_to_curve_G1, map_to_curve_G2
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381 import G1, G2, multiply, neg, normalize

from l2.l1 import precompiles
from l2.l1.precompiles import PAIRING_ADDRESS, P, bls12_pairing_check


class _Computation:
    """What a precompile touches of py-evm's computation: the input, the gas it consumes, its output."""

    class _Msg:
        def __init__(self, data: bytes):
            self.data = data

    def __init__(self, data: bytes):
        self.msg = self._Msg(data)
        self.gas: list[int] = []
        self.output = b""

    def consume_gas(self, amount: int, reason: str) -> None:
        self.gas.append(amount)


def _run(fn, data: bytes):
    computation = _Computation(data)
    try:
        fn(computation)
    except VMError:
        return "VMError", computation.gas
    return computation.output, computation.gas


def _pad(value: int) -> bytes:
    return value.to_bytes(64, "big")


def g1(point) -> bytes:
    if point[2] == FQ.zero():
        return b"\0" * 128
    x, y = normalize(point)
    return _pad(int(x)) + _pad(int(y))


def g2(point) -> bytes:
    if point[2] == FQ2.zero():
        return b"\0" * 256
    x, y = normalize(point)
    return b"".join(_pad(int(c)) for c in (*x.coeffs, *y.coeffs))


A, B = 0x1234567, 0xABCDEF1
CASES = {
    # e(aG1, bG2) * e(-abG1, G2) = 1
    "two pairs whose product is one": g1(multiply(G1, A)) + g2(multiply(G2, B)) + g1(neg(multiply(G1, A * B))) + g2(G2),
    "two pairs whose product is not one": g1(multiply(G1, A)) + g2(multiply(G2, B)) + g1(multiply(G1, A * B)) + g2(G2),
    # e(G1, xG2) * e(G1, yG2) * e(-G1, (x + y)G2) = 1, and the same with one sign wrong: each G2 point's
    # encoding is rebuilt from x and which root y is, so a wrong choice for some points must show
    **{f"three G2 multiples {x}, {y}{' (one sign wrong)' if wrong else ''}":
       g1(G1) + g2(multiply(G2, x)) + g1(G1) + g2(multiply(G2, y)) + g1(G1 if wrong else neg(G1))
       + g2(multiply(G2, x + y)) for x, y in ((3, 5), (1001, 77), (2**100 + 7, 2**61 + 1)) for wrong in (False, True)},
    "one pair": g1(G1) + g2(G2),
    "one pair with G1 at infinity": b"\0" * 128 + g2(G2),
    "one pair with G2 at infinity": g1(G1) + b"\0" * 256,
    "three pairs, one at infinity": g1(G1) + g2(G2) + g1(neg(G1)) + g2(G2) + b"\0" * 384,
    "empty input": b"",
    "a pair one byte short": (g1(G1) + g2(G2))[:-1],
    "G1 off the curve": g1(G1)[:127] + bytes([g1(G1)[127] ^ 1]) + g2(G2),
    "G2 off the curve": g1(G1) + g2(G2)[:255] + bytes([g2(G2)[255] ^ 1]),
    "G1 on the curve, outside the subgroup": g1(map_to_curve_G1(FQ(7))) + g2(G2),
    "G2 on the curve, outside the subgroup": g1(G1) + g2(map_to_curve_G2(FQ2([7, 9]))),
    "a coordinate equal to p": _pad(P) + g1(G1)[64:] + g2(G2),
    "non-zero padding above a coordinate": b"\x01" + g1(G1)[1:] + g2(G2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fast_pairing_check_is_py_evms(case):
    data = CASES[case]
    assert _run(bls12_pairing_check, data) == _run(pyevm_pairing_check, data)


def test_the_forged_points_are_what_their_names_say():
    """The outside-the-subgroup cases are on the curve (else they would test the curve check again)."""
    for case in ("G1 on the curve, outside the subgroup", "G2 on the curve, outside the subgroup"):
        assert _run(bls12_pairing_check, CASES[case])[0] == "VMError"
    from py_ecc.optimized_bls12_381 import b, b2, is_on_curve

    assert is_on_curve(map_to_curve_G1(FQ(7)), b) and is_on_curve(map_to_curve_G2(FQ2([7, 9])), b2)


def test_the_embedded_chain_uses_it(chain):
    from eth.vm.forks.prague.computation import PragueComputation

    precompiles.install()
    assert PragueComputation._precompiles[PAIRING_ADDRESS] is bls12_pairing_check
