"""What an invalid transaction is, checked on both sides: Python's `apply` refuses it and the contract
accepts the fraud proof that shows it (one case per rule), so the two implementations agree."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import proofs
from l2.designs.optimistic.errors import InvalidTransaction
from l2.designs.optimistic.state import apply
from l2.designs.optimistic.txs import QueueOp, Transfer, Withdrawal, sign
from l2.errors import TransactionReverted

CASES = {
    "unknown_token": lambda a, b, d: sign(Transfer(0, 1, 7, 1), a.key, d, 1),
    "recipient_out_of_range": lambda a, b, d: sign(Transfer(0, 2**20 + 5, 0, 1), a.key, d, 1),
    "self_transfer": lambda a, b, d: sign(Transfer(0, 0, 0, 1), a.key, d, 1),
    "recipient_missing": lambda a, b, d: sign(Transfer(0, 9, 0, 1), a.key, d, 1),
    "sender_missing": lambda a, b, d: sign(Transfer(9, 0, 0, 1), a.key, d, 0),
    "signed_by_someone_else": lambda a, b, d: sign(Transfer(0, 1, 0, 1), b.key, d, 1),
    "replayed_nonce": lambda a, b, d: sign(Transfer(0, 1, 0, 1), a.key, d, 0),
    "insufficient_balance": lambda a, b, d: sign(Transfer(0, 1, 0, 10**20), a.key, d, 1),
    "fee_exceeds_balance": lambda a, b, d: sign(Transfer(0, 1, 0, 10**18 - 10**17, fee=2047 * 10**14), a.key, d, 1),
    "withdraw_signed_by_someone_else": lambda a, b, d: sign(Withdrawal(0, b.address, 0, 1), b.key, d, 1),
    "withdraw_more_than_balance": lambda a, b, d: sign(Withdrawal(0, a.address, 0, 10**19), a.key, d, 1),
}


@pytest.fixture
def funded(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    bob.deposit(10**18, 1)
    seq.sync_queue()
    alice.transfer(bob.address, 10**17)
    bob.transfer(alice.address, 10**17, 1)
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    return seq, verifier


def _post(env, seq, bodies):
    state = seq.state
    chunks = batch_mod.make_chunks([(body, state.root) for body in bodies], env.rollup.counters()[1])
    env.rollup.submit_batch(env.proposer, state.root, len(chunks), data := batch_mod.encode(chunks),
                            env.rollup.l1_queue_hash(data))


def _assert_caught(env, verifier, kind):
    (fraud,) = verifier.sync()
    assert fraud.receipt is not None, fraud
    assert kind in fraud.reason
    assert env.rollup.batch_count() == 1
    assert fraud.receipt.gasUsed <= 200_000


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_user_transaction_is_provable(env, funded, case):
    seq, verifier = funded
    alice, bob = env.users[:2]
    tx = CASES[case](alice, bob, env.rollup.domain)
    _post(env, seq, [tx.encode()])
    _assert_caught(env, verifier, "invalid transaction")


def test_deposit_credited_to_another_addresss_account_is_provable(env, funded):
    seq, verifier = funded
    env.rollup.deposit_eth(env.users[2], 10**17)
    _post(env, seq, [QueueOp(0, 1).encode()])  # alice's account 0, not a new one for users[2]
    _assert_caught(env, verifier, "cannot go to account 0")


def test_forced_withdrawal_marked_failed_when_it_succeeds_is_provable(env, funded):
    seq, verifier = funded
    env.rollup.request_forced_withdrawal(env.users[0], 0, 0, 10**17)
    _post(env, seq, [QueueOp(0, 0).encode()])
    _assert_caught(env, verifier, "succeeds but ok = 0")


def test_data_that_does_not_decode_cannot_be_posted(env, funded):
    seq, _ = funded
    root = seq.state.root
    for data, count in ((b"\x09" + b"\0" * 80 + root, 1), (b"\x01" + b"\0" * 40, 1), (b"\x03" + b"\0" * 37, 2)):
        with pytest.raises(TransactionReverted, match="BatchDataMalformed|TxCountMismatch|QueueExhausted"):
            env.rollup.submit_batch(env.proposer, root, count, data, b"\0" * 32)


def test_batch_on_a_stale_root_is_refused(env, funded):
    seq, _ = funded
    with pytest.raises(TransactionReverted, match="StalePrevRoot"):
        env.rollup.submit_batch(env.proposer, b"\x05" * 32, 1, QueueOp(0, 1).encode() + b"\0" * 32, b"\0" * 32)


MUTATIONS = {
    "none": lambda f: f,
    "sender": lambda f: {**f, "sender": 9},
    "to_missing": lambda f: {**f, "to": 9},
    "to_self": lambda f: {**f, "to": f["sender"]},
    "to_out_of_range": lambda f: {**f, "to": 2**20},
    "token": lambda f: {**f, "token": 4 + f["token"]},
    "empty_token": lambda f: {**f, "token": 3},
    "amount": lambda f: {**f, "amount": 10**19},
    "fee": lambda f: {**f, "fee": 2047 * 10**15},
    "signer": lambda f: {**f, "signer": 1 - f["signer"]},
    "nonce": lambda f: {**f, "nonce": f["nonce"] + 1},
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sender=st.integers(0, 1),
    token=st.integers(0, 1),
    amount=st.sampled_from([0, 1, 10**15, 10**17]),
    fee=st.sampled_from([0, 5, 2047 * 10**10]),
    withdraw=st.booleans(),
    mutation=st.sampled_from(sorted(MUTATIONS)),
)
def test_python_and_contract_agree_on_random_transitions(env, funded, sender, token, amount, fee, withdraw, mutation):
    """A valid transition with at most one field broken: Python's verdict (valid + root, or invalid) is
    exactly what the contract enforces."""
    seq, verifier = funded
    chain = env.chain
    snapshot = chain.snapshot()
    try:
        nonce = seq.state.account(sender).nonce
        f = MUTATIONS[mutation](dict(sender=sender, to=1 - sender, token=token, amount=amount, fee=fee, signer=sender,
                                     nonce=nonce))
        tx = (Withdrawal(f["sender"], env.users[1].address, f["token"], f["amount"], f["fee"]) if withdraw
              else Transfer(f["sender"], f["to"], f["token"], f["amount"], f["fee"]))
        tx = sign(tx, env.users[f["signer"]].key, env.rollup.domain, f["nonce"])
        try:
            post_root = apply(seq.state, tx, env.rollup.domain)[0].root
            valid = True
        except InvalidTransaction:
            post_root, valid = seq.state.root, False
        _post_with_root(env, seq, tx.encode(), post_root)
        frauds = env.verifier().sync()
        event(f"valid={valid}")
        if valid:
            assert frauds == []
            posted = env.rollup.posted_batch(env.rollup.events("BatchSubmitted")[-1])
            chunks = batch_mod.split(posted.data, posted.header.queue_start)
            proof = proofs.fraud_proof(posted.header, chunks, 0, seq.state, proofs.decode_chunk(chunks[0], {}),
                                       env.rollup.domain)
            with pytest.raises(TransactionReverted, match="TransitionCorrect"):
                env.rollup.challenge(env.challenger, proof)
        else:
            assert len(frauds) == 1 and frauds[0].receipt is not None, frauds
            assert env.rollup.batch_count() == 1
    finally:
        chain.revert(snapshot)


def _post_with_root(env, seq, body, root):
    chunks = batch_mod.make_chunks([(body, root)], env.rollup.counters()[1])
    env.rollup.submit_batch(env.proposer, seq.state.root, 1, data := batch_mod.encode(chunks),
                            env.rollup.l1_queue_hash(data))
