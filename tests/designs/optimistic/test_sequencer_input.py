"""Bad input to the sequencer is refused with a specific exception and leaves nothing behind;
malformed fields are named; bytes off the wire never raise a raw Python error (ported from the previous format's
test_sequencer_input.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import replace as _replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.optimistic import encoding
from l2.designs.optimistic.encoding import Transfer, Withdrawal
from l2.designs.optimistic.errors import (
    BadSignature,
    InsufficientBalance,
    MalformedTransaction,
    SelfTransfer,
    UnknownAccount,
    UnknownToken,
    UnrepresentableAmount,
    WrongNonce,
)
from l2.errors import InputError, L2Error, ProtocolViolation
from l2.runtime.service import run_round

ETHER = 10**18
TOKEN_ACCOUNT = 4  # bob's account for the test token (alice is 2, bob 3)


@dataclass
class Ready:
    sequencer: object
    alice: object
    bob: object

    def snapshot(self):
        s = self.sequencer
        rows = s.db.execute("SELECT COUNT(*) FROM transfers").fetchone()[0]
        return s.pending_count(), s.open_state.root, rows


@pytest.fixture
def ready(rollup_env, tmp_path):
    """Alice and bob hold 1 ETH (accounts 2 and 3), bob tokens too (account 4); alice's first transfer
    waits in the sequencer (her next nonce is 1)."""
    sequencer = rollup_env.sequencer(tmp_path)
    alice, bob = rollup_env.wallets(sequencer)[:2]
    alice.deposit(ETHER)
    bob.deposit(ETHER)
    bob.deposit(10**7, token=1)
    run_round([sequencer], urgent=True)
    alice.transfer(bob.address, 10**17)
    yield Ready(sequencer, alice, bob)
    sequencer.close()


def _refused(ready, transfer, nonce, signature, error, match):
    before = ready.snapshot()
    with pytest.raises(error, match=match) as info:
        ready.sequencer.submit(transfer, nonce, signature)
    assert isinstance(info.value, (ProtocolViolation, InputError))
    assert ready.snapshot() == before  # nothing journaled, nothing applied


def _signed(ready, transfer, nonce=1, by=None):
    return transfer, nonce, (by or ready.alice).sign(transfer, nonce)


def test_bad_submissions_are_refused_with_specific_errors(ready):
    a = ready
    _refused(a, *_signed(a, Transfer(2, 3, 10**15), 0), WrongNonce, "nonce 0 is not account 2's next nonce 1")
    _refused(a, *_signed(a, Transfer(2, 3, 10**15), 5), WrongNonce, "nonce 5")
    _refused(a, *_signed(a, Transfer(2, 3, 10**19)), InsufficientBalance, "needs")
    _refused(a, *_signed(a, Withdrawal(2, 2 * ETHER)), InsufficientBalance, "needs")
    _refused(a, Transfer(2, 3, 10**15), 1, b"\x01" * 96, BadSignature, "48 bytes")
    _refused(a, *_signed(a, Transfer(9, 3, 10**15), 0), UnknownAccount, "account 9 does not exist")
    _refused(a, *_signed(a, Transfer(2, 9, 10**15)), UnknownAccount, "recipient account 9")
    _refused(a, *_signed(a, Transfer(2, 2, 10**15)), SelfTransfer, "pays itself")
    _refused(a, *_signed(a, Transfer(2, TOKEN_ACCOUNT, 10**15)), UnknownToken, "holds token 1")
    _refused(a, *_signed(a, Transfer(TOKEN_ACCOUNT, 2, 10**6), 0, a.bob), UnknownToken, "no fee account")
    with pytest.raises(UnrepresentableAmount):
        a.alice.transfer(a.bob.address, 123456789012345678)
    assert a.alice.transfer(a.bob.address, 10**15) and a.sequencer.pending_count() == 2


def test_batches_are_cut_by_size_or_by_age(rollup_env, tmp_path):
    sequencer = rollup_env.sequencer(tmp_path, max_batch=3, max_age=1.0)
    alice, bob = rollup_env.wallets(sequencer)[:2]
    alice.deposit(ETHER)
    bob.deposit(ETHER)
    assert "3 queue entries" in run_round([sequencer])[0].text  # queue entries go out at once
    alice.transfer(bob.address, 10**15)
    bob.transfer(alice.address, 10**15)
    assert run_round([sequencer]) == []  # two transfers: not full, not old
    alice.transfer(bob.address, 10**15)
    assert "3 transfers" in run_round([sequencer])[0].text  # full
    alice.transfer(bob.address, 10**15)
    assert run_round([sequencer]) == [] and not sequencer.due()
    time.sleep(1.1)
    assert "1 transfer in" in run_round([sequencer])[0].text  # old enough
    assert run_round([sequencer]) == []  # nothing pending
    assert "every root and signature checks" in run_round([rollup_env.checker()])[-1].text
    sequencer.close()


# --- malformed submissions: typed errors naming the field, nothing stored -------------------------

MALFORMED = [
    ("sender", -1), ("sender", 2**20), ("sender", "2"), ("sender", True), ("sender", None), ("sender", 2.0),
    ("to", None), ("to", -3), ("to", 2**40), ("to", 3.0), ("amount", -5), ("amount", 1.5), ("amount", "10"),
    ("amount", None), ("amount", True), ("fee", -1), ("fee", 1e15), ("fee", b"\x01"),
]


@pytest.mark.parametrize("field, value", MALFORMED, ids=[f"{f}={v!r}"[:40] for f, v in MALFORMED])
def test_a_malformed_transfer_is_refused_naming_the_field_and_nothing_is_stored(ready, field, value):
    transfer = _replace(Transfer(2, 3, 10**15), **{field: value})
    _refused(ready, transfer, 1, b"\x01" * 48, MalformedTransaction, f"Transfer.{field}")
    with pytest.raises(MalformedTransaction, match=f"Transfer.{field}"):  # nor can a wallet sign it
        ready.alice.sign(transfer, 1)


# A value of the wrong type must not reach `bytes(signature)` (a raw TypeError or ValueError; an integer
# becomes that many zero bytes) or the journal (a float nonce).
BAD_NONCES_AND_SIGNATURES = [("signature", None), ("signature", "0x" + "11" * 48), ("signature", -1),
                             ("signature", 1.5), ("signature", 48), ("nonce", 1.0), ("nonce", None),
                             ("nonce", "1"), ("transfer", None), ("transfer", b"\x01" * 8)]


@pytest.mark.parametrize("field, value", BAD_NONCES_AND_SIGNATURES,
                         ids=[f"{f}={v!r}"[:30] for f, v in BAD_NONCES_AND_SIGNATURES])
def test_a_malformed_nonce_signature_or_transfer_is_refused_naming_it(ready, field, value):
    transfer, nonce, signature = _signed(ready, Transfer(2, 3, 10**15))
    args = {"transfer": transfer, "nonce": nonce, "signature": signature, field: value}
    _refused(ready, args["transfer"], args["nonce"], args["signature"], MalformedTransaction, field)


def test_an_unrepresentable_amount_is_refused_before_it_is_applied(ready):
    _refused(ready, Transfer(2, 3, 123456789012345678), 1, b"\x01" * 48, UnrepresentableAmount,
             "significant digits")
    _refused(ready, Transfer(2, 3, 10**15, 17), 1, b"\x01" * 48, UnrepresentableAmount, "fee 17")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_reach_a_raw_python_error(raw):
    """A transfer or a batch off the wire decodes or is refused with the project's error."""
    for decode in (lambda: Transfer.decode(raw[:8]), lambda: Transfer.decode(raw),
                   lambda: encoding.decode_batch(raw, 0, 4), lambda: encoding.decode_batch(raw, 7)):
        try:
            decoded = decode()
        except L2Error:
            continue
        if isinstance(decoded, list):  # what decodes encodes back to the same bytes
            assert encoding.encode_batch([c for c, _ in decoded]) == raw


_values = st.one_of(st.none(), st.booleans(), st.integers(-(2**300), 2**300), st.floats(allow_nan=True),
                    st.text(max_size=5), st.binary(max_size=70), st.lists(st.integers(), max_size=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["sender", "to", "amount", "fee"]), value=_values)
def test_any_field_of_any_type_is_refused_or_accepted_never_a_raw_error(ready, field, value):
    before = ready.snapshot()
    transfer = _replace(Transfer(2, 3, 10**15), **{field: value})
    nonce = ready.sequencer.nonce_of(2)
    try:
        ready.sequencer.submit(transfer, nonce, ready.alice.sign(transfer, nonce))
    except L2Error:
        assert ready.snapshot() == before


@pytest.mark.parametrize("amount, fee", [(-1, 0), (10**15, -2), (2**256, 0), ("1", 0), (None, 0), (1.0, 0)])
def test_a_wallet_refuses_a_malformed_amount_before_signing(ready, amount, fee):
    before = ready.snapshot()
    with pytest.raises((MalformedTransaction, UnrepresentableAmount)):
        ready.alice.transfer(ready.bob.address, amount, fee=fee)
    with pytest.raises((MalformedTransaction, UnrepresentableAmount)):
        ready.alice.withdraw(amount, fee=fee)
    assert ready.snapshot() == before
