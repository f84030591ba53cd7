"""The hashing scheme and encodings are the same in Python and Solidity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.rollup import txs
from l2.rollup.errors import UnrepresentableAmount
from l2.rollup.state import GENESIS_ROOT


def test_genesis_root_and_domain_match_the_contract(env):
    fn = env.rollup.fn
    assert bytes(fn.genesisRoot().call()) == GENESIS_ROOT
    assert bytes(fn.domainSeparator().call()) == env.rollup.domain


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**35 - 1), st.integers(0, 31))
def test_compact_amounts_round_trip(mantissa, exponent):
    value = mantissa * 10**exponent
    assert txs.decode_amount(txs.encode_amount(value)) == value
    assert txs.round_amount(value) == value


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**40))
def test_round_amount_is_the_largest_representable_below(value):
    rounded = txs.round_amount(value)
    assert rounded <= value
    assert txs.decode_amount(txs.encode_amount(rounded)) == rounded


def test_unrepresentable_amount_is_refused():
    with pytest.raises(UnrepresentableAmount, match="significant digits"):
        txs.encode_amount(2**35 + 1)
    with pytest.raises(UnrepresentableAmount):
        txs.encode_fee(2049)


def test_decoding_is_the_inverse_of_encoding():
    sig = bytes(range(64))
    transfer = txs.Transfer(5, 70000, 1, 123 * 10**15, 7 * 10**3, sig)
    assert txs.decode(transfer.encode()) == transfer
    withdraw = txs.Withdraw(5, "0x" + "12" * 20, 2, 10**18, 0, sig)
    decoded = txs.decode(withdraw.encode())
    assert (decoded.sender, decoded.recipient.lower(), decoded.amount) == (5, "0x" + "12" * 20, 10**18)
    assert len(transfer.encode()) + 32 == 113 and len(withdraw.encode()) + 32 == 129
