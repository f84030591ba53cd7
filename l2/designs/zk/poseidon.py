"""Poseidon over BN254's scalar field, the way circomlib computes it.

The round constants and the MDS matrix are generated here from the Poseidon paper's Grain LFSR (the
reference `generate_parameters_grain` procedure: x^5 S-box, 8 full rounds, circomlib's partial-round
counts), not copied from any table; `tests/designs/zk/test_hashes.py` checks the outputs against circomlibjs.
"""

from __future__ import annotations

from functools import cache

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617
FULL_ROUNDS = 8
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)  # by t = 2 .. 17
MAX_INPUTS = 6


class _Grain:
    """The 80-bit self-shrinking LFSR that the Poseidon reference derives its parameters from."""

    def __init__(self, t: int, rounds_p: int):
        fields = [(1, 2), (0, 4), (254, 12), (t, 12), (FULL_ROUNDS, 10), (rounds_p, 10), ((1 << 30) - 1, 30)]
        self.bits = [(value >> (width - 1 - i)) & 1 for value, width in fields for i in range(width)]
        for _ in range(160):
            self._clock()

    def _clock(self) -> int:
        b = self.bits
        bit = b[62] ^ b[51] ^ b[38] ^ b[23] ^ b[13] ^ b[0]
        b.pop(0)
        b.append(bit)
        return bit

    def bit(self) -> int:
        while True:  # self-shrinking: a pair (1, x) outputs x, a pair (0, x) outputs nothing
            first, second = self._clock(), self._clock()
            if first:
                return second

    def number(self, n: int = 254) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def field_element(self) -> int:
        while True:  # rejection sampling: constants are uniform below P
            value = self.number()
            if value < P:
                return value


@cache
def parameters(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(round constants, MDS matrix) for a state of t field elements."""
    rounds_p = PARTIAL_ROUNDS[t - 2]
    grain = _Grain(t, rounds_p)
    constants = tuple(grain.field_element() for _ in range((FULL_ROUNDS + rounds_p) * t))
    while True:  # a Cauchy matrix from 2t distinct values; the reference redraws on a collision
        values = [grain.number() % P for _ in range(2 * t)]
        if len(set(values)) == 2 * t and all((x + y) % P for x in values[:t] for y in values[t:]):
            break
    xs, ys = values[:t], values[t:]
    mds = tuple(tuple(pow(x + y, -1, P) for y in ys) for x in xs)
    return constants, mds


def poseidon(inputs: list[int] | tuple[int, ...]) -> int:
    """circomlib's Poseidon(n) of 1..6 field elements (state = [0, *inputs], output = state[0])."""
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"poseidon takes 1 to {MAX_INPUTS} inputs, not {len(inputs)}")
    t = len(inputs) + 1
    constants, mds = parameters(t)
    state = [0] + [x % P for x in inputs]
    rounds_p = PARTIAL_ROUNDS[t - 2]
    half = FULL_ROUNDS // 2
    for r in range(FULL_ROUNDS + rounds_p):
        base = r * t
        state = [(s + constants[base + i]) % P for i, s in enumerate(state)]
        if r < half or r >= half + rounds_p:
            state = [pow(s, 5, P) for s in state]
        else:
            state[0] = pow(state[0], 5, P)
        state = [sum(m * s for m, s in zip(row, state, strict=True)) % P for row in mds]
    return state[0]
