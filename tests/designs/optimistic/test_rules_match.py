"""The hashing scheme and encodings are the same in Python and Solidity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import proofs, txs
from l2.designs.optimistic.errors import InvalidTransaction, UnrepresentableAmount
from l2.designs.optimistic.state import GENESIS_ROOT, Account, apply, credit, with_raw_account
from l2.errors import TransactionReverted

from .conftest import fund_for_faults


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
    withdraw = txs.Withdrawal(5, "0x" + "12" * 20, 2, 10**18, 0, sig)
    decoded = txs.decode(withdraw.encode())
    assert (decoded.sender, decoded.recipient.lower(), decoded.amount) == (5, "0x" + "12" * 20, 10**18)
    assert len(transfer.encode()) + 32 == 113 and len(withdraw.encode()) + 32 == 129


def test_collect_fees_encoding_round_trips_and_matches_the_contract_length():
    tx = txs.CollectFees(70000, 3)
    assert txs.decode(tx.encode()) == tx and len(tx.encode()) + 32 == 38  # OptimisticRules.COLLECT_FEES_LEN


@pytest.fixture
def fees_collected_by(env, tmp_path):
    """A standing batch that leaves ETH fees in the pool; accounts 0, 1 = alice, bob, 2 = the proposer."""
    seq = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, seq)
    alice.transfer(bob.address, 10**17, fee=1234)
    bob.withdraw(10**16, fee=2000)
    seq.post_batch()
    assert seq.state.fees == (3234, 0, 0, 0)
    return seq


COLLECTIONS = {  # (account, token, credited amount or None for the honest root) -> valid?
    "own_eth": (2, 0, None, True),
    "own_empty_token": (2, 1, None, True),
    "someone_elses_account": (0, 0, None, False),
    "unknown_token": (2, 4, None, False),
    "missing_account": (9, 0, None, False),
    "account_out_of_range": (2**20, 0, None, False),
    "credits_more_than_the_pool": (2, 0, 10**18, False),
}


@pytest.mark.parametrize("case", sorted(COLLECTIONS))
def test_python_and_contract_agree_on_fee_collection(env, fees_collected_by, case):
    """Python's `apply` and `OptimisticRollup.challengeTransition` give the same verdict on CollectFees."""
    seq = fees_collected_by
    account, token, credited, expect_valid = COLLECTIONS[case]
    tx = txs.CollectFees(account, token, env.proposer.address)
    try:
        post_root = apply(seq.state, tx, env.rollup.domain)[0].root
        valid = True
    except InvalidTransaction:
        post_root, valid = seq.state.root, False
    if credited is not None:  # the right account and token, the wrong amount
        mine = seq.state.account(account)
        post_root = with_raw_account(seq.state, account, Account(mine.addr, mine.nonce, credit(mine.balances, 0,
                                                                                               credited)),
                                     (0, 0, 0, 0)).root
        valid = False
    assert valid == expect_valid
    chunks = batch_mod.make_chunks([(tx.encode(), post_root)], env.rollup.counters()[1])
    env.rollup.submit_batch(env.proposer, seq.state.root, 1, data := batch_mod.encode(chunks),
                            env.rollup.l1_queue_hash(data))
    frauds = env.verifier().sync()
    if valid:
        assert frauds == []
        posted = env.rollup.posted_batch(env.rollup.events("BatchSubmitted")[-1])
        decoded = proofs.decode_chunk(chunks[0], {}, posted.header.proposer)
        proof = proofs.fraud_proof(posted.header, chunks, 0, seq.state, decoded, env.rollup.domain)
        with pytest.raises(TransactionReverted, match="TransitionCorrect"):
            env.rollup.challenge(env.challenger, proof)
    else:
        assert len(frauds) == 1 and frauds[0].receipt is not None, frauds
        assert frauds[0].receipt.gasUsed <= 200_000
        assert env.rollup.batch_count() == 1
