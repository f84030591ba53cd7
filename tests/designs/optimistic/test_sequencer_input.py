"""Bad input to the sequencer is refused with a specific exception; nothing accepted is lost."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.errors import (
    BadSignature,
    InsufficientBalance,
    UndecodableTransaction,
    UnknownAccount,
    UnknownToken,
    UnrepresentableAmount,
    WrongNonce,
)
from l2.designs.optimistic.sequencer import Sequencer, encode_submission
from l2.designs.optimistic.txs import CollectFees, Transfer, sign
from l2.errors import InputError, InvalidSignature, ProtocolViolation


@pytest.fixture
def ready(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    seq.sync_queue()
    alice.transfer(bob.address, 10**17)
    return seq, alice, bob


def _refused(seq, submission, error, match):
    before = seq.pending_count(), seq.state.root
    with pytest.raises(error, match=match) as info:
        seq.submit(submission)
    assert isinstance(info.value, (ProtocolViolation, InputError))
    assert (seq.pending_count(), seq.state.root) == before


def test_bad_submissions_are_refused_with_specific_errors(env, ready):
    seq, alice, bob = ready
    d = env.rollup.domain
    key = alice.account.key
    _refused(seq, b"\x07garbage", UndecodableTransaction, "unknown transaction type 7")
    _refused(seq, b"\x01\x00", UndecodableTransaction, "4-byte nonce")
    _refused(seq, CollectFees(0, 0).encode() + b"\0" * 4, UndecodableTransaction, "CollectFees from the proposer")
    unsigned = Transfer(0, 1, 0, 10**15, nonce=1, signature=b"\0" * 64)
    _refused(seq, encode_submission(unsigned), BadSignature, "not by the owner")
    _refused(seq, encode_submission(sign(Transfer(0, 1, 0, 10**15), bob.account.key, d, 1)), InvalidSignature, "owner")
    _refused(seq, encode_submission(sign(Transfer(0, 1, 0, 10**15), key, d, 0)), WrongNonce, "nonce 0 is not")
    _refused(seq, encode_submission(sign(Transfer(0, 1, 0, 10**19), key, d, 1)), InsufficientBalance, "needs")
    _refused(seq, encode_submission(sign(Transfer(0, 1, 3, 10**15), key, d, 1)), InsufficientBalance, "token 3")
    _refused(seq, encode_submission(sign(Transfer(0, 1, 9, 10**15), key, d, 1)), UnknownToken, "token id 9")
    _refused(seq, encode_submission(sign(Transfer(0, 7, 0, 10**15), key, d, 1)), UnknownAccount, "recipient account 7")
    with pytest.raises(UnrepresentableAmount):
        alice.transfer(bob.address, 123456789012345678)
    assert alice.transfer(bob.address, 10**15) and seq.pending_count() == 4


def test_accepted_transactions_survive_a_restart(env, ready, tmp_path):
    seq, alice, bob = ready
    root = seq.state.root
    seq.close()
    again = Sequencer(env.rollup, env.proposer, tmp_path / "seq.db")
    assert again.state.root == root and again.pending_count() == 3
    again.post_batch()
    assert env.verifier().sync() == []


def test_batches_are_cut_by_size_or_by_age(env, tmp_path):
    import time

    seq = env.sequencer(tmp_path, max_batch=3, max_age=60)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    assert seq.tick() is None  # two queued deposits: not full, not old
    alice.transfer(bob.address, 10**15)
    assert seq.tick() is not None and env.rollup.batch_count() == 1  # full: 3 entries
    alice.transfer(bob.address, 10**15)
    assert seq.tick() is None
    assert seq.tick(now=time.time() + 61) is not None and env.rollup.batch_count() == 2  # old enough
    assert seq.tick(now=time.time() + 120) is None  # nothing pending
    assert env.verifier().sync() == []


# --- malformed submissions: typed errors naming the field, nothing stored -------------------------

from dataclasses import replace as _replace  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from l2.designs.optimistic.errors import MalformedTransaction  # noqa: E402
from l2.designs.optimistic.sequencer import decode_submission  # noqa: E402
from l2.designs.optimistic.txs import Withdrawal  # noqa: E402
from l2.errors import L2Error  # noqa: E402


def _good(env, alice):
    return sign(Transfer(0, 1, 0, 10**15), alice.account.key, env.rollup.domain, 1)


MALFORMED = [
    ("sender", -1), ("sender", 2**32), ("sender", "0"), ("sender", True), ("sender", None), ("sender", 0.0),
    ("to", None), ("to", -3), ("to", 2**40), ("token", 256), ("token", -1), ("token", "ETH"),
    ("amount", -5), ("amount", 2**256), ("amount", 1.5), ("amount", "10"), ("fee", -1), ("fee", 2**300),
    ("signature", None), ("signature", b"short"), ("signature", "0x" + "11" * 64), ("nonce", None), ("nonce", 2**32),
    ("nonce", -1), ("nonce", "1"),
]


@pytest.mark.parametrize("field, value", MALFORMED, ids=[f"{f}={v!r}"[:40] for f, v in MALFORMED])
def test_a_malformed_transfer_is_refused_naming_the_field_and_nothing_is_stored(env, ready, field, value):
    seq, alice, bob = ready
    rows = seq.db.execute("SELECT COUNT(*) FROM log").fetchone()[0]
    _refused(seq, _replace(_good(env, alice), **{field: value}), MalformedTransaction, f"Transfer.{field}")
    assert seq.db.execute("SELECT COUNT(*) FROM log").fetchone()[0] == rows


@pytest.mark.parametrize("recipient", [None, "0x1234", 12, "not an address", b"\x11" * 20])
def test_a_withdrawal_to_a_malformed_recipient_is_refused(env, ready, recipient):
    seq, alice, bob = ready
    good = sign(Withdrawal(0, alice.address, 0, 10**15), alice.account.key, env.rollup.domain, 1)
    _refused(seq, _replace(good, recipient=recipient), MalformedTransaction, "Withdrawal.recipient")


@pytest.mark.parametrize("submission", [None, 7, "0x01", {"type": "Transfer"}, [1, 2]])
def test_something_that_is_not_a_transaction_is_refused(env, ready, submission):
    seq, alice, bob = ready
    _refused(seq, submission, MalformedTransaction, "expected a Transfer or Withdrawal")


def test_an_unrepresentable_amount_is_refused_before_it_is_applied(env, ready):
    seq, alice, bob = ready
    _refused(seq, _replace(_good(env, alice), amount=123456789012345678), UnrepresentableAmount, "significant digits")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=140))
def test_random_bytes_never_reach_a_raw_python_error(raw):
    try:
        decode_submission(raw)
    except L2Error:
        pass


_values = st.one_of(st.none(), st.booleans(), st.integers(-(2**300), 2**300), st.floats(allow_nan=True),
                    st.text(max_size=5), st.binary(max_size=70), st.lists(st.integers(), max_size=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["sender", "to", "token", "amount", "fee", "signature", "nonce"]), value=_values)
def test_any_field_of_any_type_is_refused_or_accepted_never_a_raw_error(env, ready, field, value):
    seq, alice, bob = ready
    before = seq.pending_count(), seq.state.root
    try:
        seq.submit(_replace(_good(env, alice), **{field: value}))
    except L2Error:
        assert (seq.pending_count(), seq.state.root) == before


@pytest.mark.parametrize("amount, fee", [(-1, 0), (10**15, -2), (2**256, 0), ("1", 0), (None, 0), (1.0, 0)])
def test_a_wallet_refuses_a_malformed_amount_before_signing(env, ready, amount, fee):
    seq, alice, bob = ready
    before = seq.pending_count(), seq.state.root
    with pytest.raises(MalformedTransaction):
        alice.transfer(bob.address, amount, fee=fee)
    with pytest.raises(MalformedTransaction):
        alice.withdraw(amount, fee=fee)
    assert (seq.pending_count(), seq.state.root) == before
