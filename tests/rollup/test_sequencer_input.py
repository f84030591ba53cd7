"""Bad input to the sequencer is refused with a specific exception; nothing accepted is lost."""

from __future__ import annotations

import pytest

from l2.errors import InputError, InvalidSignature, ProtocolViolation
from l2.rollup.errors import (
    BadSignature,
    InsufficientBalance,
    UndecodableTransaction,
    UnknownAccount,
    UnknownToken,
    UnrepresentableAmount,
    WrongNonce,
)
from l2.rollup.sequencer import Sequencer, encode_submission
from l2.rollup.txs import CollectFees, Transfer, sign


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
