"""What an invalid commitment is, checked on both sides (ported from the previous format's
test_invalid_transactions.py): Python's rules refuse it and an independent checker proves it on Layer 1, one case
per rule, with the proof the rule calls for (a transition or a signature); data that does not decode is never
posted."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from l2.core import bls
from l2.designs.optimistic import encoding
from l2.designs.optimistic.encoding import QueueCommitment, Transfer, TransferCommitment, Withdrawal
from l2.designs.optimistic.errors import (
    InsufficientBalance,
    InvalidTransaction,
    QueueMismatch,
    SelfTransfer,
    UnknownAccount,
    UnknownToken,
)
from l2.designs.optimistic.state import ZERO_HASHES, Account, State, apply_queue, apply_transfers, signature_valid
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import Forger, users_deposit

ETHER = 10**18
TOKEN_ACCOUNT = 5  # bob's account for the test token


@dataclass
class Funded:
    env: object
    forger: Forger
    state: State  # the tip: accounts 1 (proposer), 2 (alice), 3 (bob), 4 (carol) in ETH, 5 bob's tokens
    checker: object

    def post_and_prove(self, commitments) -> list:
        """Post `commitments` on the tip and let the checker find and prove the fraud: its events."""
        self.forger.post(commitments)
        events = run_round([self.checker])
        assert self.env.client.batch_count() == 1, events
        return events


@pytest.fixture
def funded(rollup_env, forger):
    """Alice, bob and carol hold 1 ETH, bob 10^7 tokens too; alice paid bob once (her nonce is 1)."""
    env = rollup_env
    users_deposit(env)
    env.client.deposit_token(env.users[1], 1, 10**7)
    deposits, state = forger.queue(forger.genesis)
    payment, state = forger.transfers(state, [Transfer(2, 3, 10**17)])
    forger.post([deposits, payment])
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    return Funded(env, forger, state, checker)


# --- transition rules: the transition proof ------------------------------------------------------

# (transfers, fee receiver, Python's error, its message, whether `_lenient_root` can say what the proposer
# would claim: past the tree, or where the balance does not cover what leaves, it cannot).
TRANSITION_CASES = {
    "sender_missing": ([Transfer(9, 2, 10**15)], 1, UnknownAccount, "sender account 9 does not exist", True),
    "sender_past_the_tree": ([Transfer(70, 2, 10**15)], 1, UnknownAccount, "sender account 70", False),
    "sender_is_account_0": ([Transfer(0, 2, 10**15)], 1, UnknownAccount, "sender account 0", True),
    "recipient_missing": ([Transfer(2, 9, 10**15)], 1, UnknownAccount, "recipient account 9", True),
    "recipient_past_the_tree": ([Transfer(2, 2**6 + 5, 10**15)], 1, UnknownAccount, "recipient account 69", False),
    "self_transfer": ([Transfer(2, 2, 10**15, 10**12)], 1, SelfTransfer, "pays itself", True),
    "insufficient_balance": ([Transfer(2, 3, 10**20)], 1, InsufficientBalance, "needs", True),
    "fee_exceeds_balance": ([Transfer(2, 3, 89 * 10**16, 15 * 10**15)], 1, InsufficientBalance, "needs", True),
    "withdraw_more_than_balance": ([Withdrawal(2, 2 * ETHER)], 1, InsufficientBalance, "needs", True),
    "overspend_by_a_sender_twice": ([Transfer(2, 3, 5 * 10**17), Transfer(2, 4, 5 * 10**17)], 1,
                                    InsufficientBalance, "transfer 1", True),
    "sender_of_another_token": ([Transfer(TOKEN_ACCOUNT, 2, 10**6)], 1, UnknownToken, "the fee receiver token", True),
    "recipient_of_another_token": ([Transfer(2, TOKEN_ACCOUNT, 10**15)], 1, UnknownToken, "holds token 1", True),
    "fee_receiver_missing": ([Transfer(2, 3, 10**15, 10**12)], 9, UnknownAccount, "fee receiver", True),
    "fee_receiver_is_account_0": ([Transfer(2, 3, 10**15, 10**12)], 0, UnknownAccount, "fee receiver", True),
}


def _lenient_root(state: State, txs, fee_receiver: int) -> bytes:
    """The root a proposer would claim if Layer 1 skipped the rules and kept only its arithmetic: an
    account that does not exist reads as empty and a write to it leaves the leaf empty (hash 0), tokens
    and self-transfers go unchecked. The pre-state's root where even the arithmetic fails (a balance below
    what leaves it: skipping that check would revert, not slash)."""
    empty = Account(b"\0" * 20, b"\0" * 32, 0)

    def put(s: State, index: int, account: Account) -> State:
        if account.owner == empty.owner:
            _, siblings = s.store.path(s.root, index)
            return State(s.store.put(index, ZERO_HASHES[0], siblings), s.store)
        return s.with_account(index, account)

    after, fees = state, 0
    for tx in txs:
        sender = after.account(tx.sender) or empty
        if sender.balance < tx.amount + tx.fee:
            return state.root
        after = put(after, tx.sender, replace(sender, balance=sender.balance - tx.amount - tx.fee,
                                              nonce=sender.nonce + 1))
        fees += tx.fee
        if tx.to:
            recipient = after.account(tx.to) or empty
            after = put(after, tx.to, replace(recipient, balance=recipient.balance + tx.amount))
    receiver = after.account(fee_receiver) or empty
    return put(after, fee_receiver, replace(receiver, balance=receiver.balance + fees)).root


@pytest.mark.parametrize("case", sorted(TRANSITION_CASES))
def test_an_invalid_transfer_is_refused_by_python_and_proven_on_layer_1(funded, case):
    """Posted with the root the proposer would claim had the rule not been there: only the rule itself can
    make it fraud."""
    txs, fee_receiver, error, match, lenient = TRANSITION_CASES[case]
    root = _lenient_root(funded.state, txs, fee_receiver) if lenient else funded.state.root
    commitment, after = funded.forger.transfers(funded.state, txs, fee_receiver=fee_receiver, root=root)
    assert after is funded.state  # the rules refused it
    with pytest.raises(error, match=match):
        apply_transfers(funded.state, commitment)
    events = funded.post_and_prove([commitment])
    assert "is fraudulent" in events[0].text and "the transition proof" in events[1].text


# --- signature rules: the signature proof ---------------------------------------------------------

def _signed(funded, txs, sign) -> TransferCommitment:
    """A commitment of `txs` whose aggregate is `sign(forger, state)`'s, with the replayed root."""
    draft = TransferCommitment(b"\0" * 32, sign(funded.forger, funded.state), 1, tuple(txs))
    return TransferCommitment(apply_transfers(funded.state, draft)[0].root, draft.signature, 1, tuple(txs))


def _key(forger, who: int):
    return forger.keys[forger.env.users[who].address]


SIGNATURE_CASES = {
    # alice's transfer signed by bob
    "signed_by_someone_else": ([Transfer(2, 3, 10**15)],
                               lambda f, s: _key(f, 1).sign(Transfer(2, 3, 10**15).message(f.client.domain, 1))),
    # alice's nonce is 1: her signature over nonce 0 (a replay of her first transfer's)
    "replayed_nonce": ([Transfer(2, 3, 10**17)],
                       lambda f, s: _key(f, 0).sign(Transfer(2, 3, 10**17).message(f.client.domain, 0))),
    # a transfer's signature passed off as a withdrawal's of the same amount
    "a_transfer_signature_on_a_withdrawal": (
        [Withdrawal(2, 10**15)], lambda f, s: _key(f, 0).sign(Transfer(2, 3, 10**15).message(f.client.domain, 1))),
    # signed for another rollup (its domain names another contract)
    "another_rollups_signature": (
        [Transfer(2, 3, 10**15)], lambda f, s: _key(f, 0).sign(Transfer(2, 3, 10**15).message(
            encoding.domain(f.chain.chain_id, "0x" + "11" * 20), 1))),
    # the second transfer of a sender signed over the same nonce as the first (Hubble's bug)
    "a_sender_twice_over_one_nonce": (
        [Transfer(2, 3, 10**15), Transfer(2, 4, 10**15)],
        lambda f, s: bls.aggregate([_key(f, 0).sign(Transfer(2, 3, 10**15).message(f.client.domain, 1)),
                                    _key(f, 0).sign(Transfer(2, 4, 10**15).message(f.client.domain, 1))])),
    "no_point": ([Transfer(2, 3, 10**15)], lambda f, s: (0x80 << 376 | 1).to_bytes(48, "big")),
    "the_point_at_infinity": ([Transfer(2, 3, 10**15)], lambda f, s: b"\xc0" + b"\0" * 47),
}


@pytest.mark.parametrize("case", sorted(SIGNATURE_CASES))
def test_a_bad_signature_is_refused_by_python_and_proven_on_layer_1(funded, case):
    txs, sign = SIGNATURE_CASES[case]
    commitment = _signed(funded, txs, sign)
    assert not signature_valid(funded.state, commitment, funded.env.client.domain, funded.forger.by_hash.__getitem__)
    events = funded.post_and_prove([commitment])
    assert "is fraudulent" in events[0].text and "the signature proof" in events[1].text


# --- queue rules -----------------------------------------------------------------------------------

def test_a_deposit_marked_not_ok_is_proven(funded):
    funded.env.client.deposit_eth(funded.env.users[2], 10**17)
    honest, _ = funded.forger.queue(funded.state)
    lying = QueueCommitment(honest.post_root, 1, (False,))
    events = funded.post_and_prove([lying])
    assert "is fraudulent" in events[0].text and "the transition proof" in events[1].text


@pytest.mark.parametrize("amount, ok", [(10**17, False), (2 * ETHER, True)], ids=["paid_marked_unpaid",
                                                                                  "unpaid_marked_paid"])
def test_a_forced_withdrawal_whose_ok_bit_lies_is_proven(funded, amount, ok):
    funded.env.client.request_forced_withdrawal(funded.env.users[0], 2, amount)
    lying, _ = funded.forger.queue(funded.state, ok=(ok,))
    with pytest.raises(QueueMismatch):
        apply_queue(funded.state, lying, funded.forger.entries())
    events = funded.post_and_prove([lying])
    assert "is fraudulent" in events[0].text and "ok flags" in events[0].text


def test_a_queue_commitment_with_a_wrong_root_is_proven(funded):
    funded.env.client.deposit_eth(funded.env.users[2], 10**17)
    wrong, _ = funded.forger.queue(funded.state, root=b"\x42" * 32)
    events = funded.post_and_prove([wrong])
    assert "the committed root is not the replayed one" in events[0].text


# --- what Layer 1 refuses at the door --------------------------------------------------------------

def _commitment_bytes(funded) -> tuple[bytes, bytes]:
    payment, _ = funded.forger.transfers(funded.state, [Transfer(2, 3, 10**15)])
    funded.env.client.deposit_eth(funded.env.users[2], 10**17)
    queue, _ = funded.forger.queue(funded.state)
    return payment.encode(), queue.encode()


def test_data_that_does_not_decode_cannot_be_posted(funded):
    env, client = funded.env, funded.env.client
    transfers, queue = _commitment_bytes(funded)
    k = client.k
    more = transfers[:85] + (k + 1).to_bytes(2, "big") + transfers[87:] + transfers[87:95] * k
    malformed = {
        "empty": b"",
        "unknown kind": b"\x09" + transfers[1:],
        "truncated transfers": transfers[:-1],
        "truncated header": transfers[:80],
        "no transfers": transfers[:85] + b"\0\0",
        "more than k transfers": more,
        "a trailing byte": transfers + b"\x01",
        "no queue entries": queue[:33] + b"\0",
        "more than MAX_QUEUE_COUNT entries": queue[:33] + bytes([encoding.MAX_QUEUE_COUNT + 1]) + b"\0" * 9,
        "ok bits past the count": queue[:-1] + b"\x03",
    }
    f = client.contract.functions
    for data in malformed.values():
        with pytest.raises(TransactionReverted, match="BatchDataMalformed"):
            env.chain.transact(f.submitBatch(client.tip_root(), b"\0" * 32, data), env.proposer)
        with pytest.raises(encoding.UndecodableTransaction):
            encoding.decode_batch(data, client.queue_head(), k)
    with pytest.raises(TransactionReverted, match="QueueExhausted"):
        env.chain.transact(f.submitBatch(client.tip_root(), b"\0" * 32, queue + queue), env.proposer)
    assert client.batch_count() == 1


def test_a_batch_on_a_stale_root_or_another_queue_is_refused(funded):
    env, client = funded.env, funded.env.client
    transfers, queue = _commitment_bytes(funded)
    f = client.contract.functions
    with pytest.raises(TransactionReverted, match="StalePrevRoot"):
        env.chain.transact(f.submitBatch(b"\x05" * 32, client.queue_hash_at(client.queue_head()), transfers),
                           env.proposer)
    with pytest.raises(TransactionReverted, match="QueueHashMismatch"):
        env.chain.transact(f.submitBatch(client.tip_root(), client.queue_hash_at(client.queue_head()), queue),
                           env.proposer)  # the hash before the entry it consumes, not after
    assert client.batch_count() == 1


# --- Python and the contract agree -----------------------------------------------------------------

MUTATIONS = {
    "none": lambda f: f,
    "sender_missing": lambda f: {**f, "sender": 9},
    "to_missing": lambda f: {**f, "to": 9},
    "to_self": lambda f: {**f, "to": f["sender"]},
    "to_past_the_tree": lambda f: {**f, "to": 2**6},
    "to_another_token": lambda f: {**f, "to": TOKEN_ACCOUNT},
    "amount": lambda f: {**f, "amount": 10**19},
    "fee": lambda f: {**f, "fee": 15 * 10**15, "amount": 99 * 10**16},
    "signer": lambda f: {**f, "signer": 5 - f["sender"]},
    "nonce": lambda f: {**f, "nonce": f["nonce"] + 1},
    "fee_receiver": lambda f: {**f, "fee_receiver": TOKEN_ACCOUNT},
}


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sender=st.sampled_from([2, 3]), amount=st.sampled_from([0, 1, 10**15, 10**17]),
       fee=st.sampled_from([0, 5, 15 * 10**12]), withdraw=st.booleans(), mutation=st.sampled_from(sorted(MUTATIONS)))
def test_python_and_the_contract_agree_on_random_transfers(funded, sender, amount, fee, withdraw, mutation):
    """A valid transfer with at most one field broken, posted with Python's root (the pre-state's if
    Python refuses it): the checker proves exactly what Python refuses, with the proof Python names,
    and the contract agrees the rest is correct."""
    env, forger, state = funded.env, funded.forger, funded.state
    chain = env.chain
    snapshot = chain.snapshot()
    try:
        f = MUTATIONS[mutation](dict(sender=sender, to=5 - sender, amount=amount, fee=fee, signer=sender,
                                     nonce=state.account(sender).nonce, fee_receiver=1))
        tx = Withdrawal(f["sender"], f["amount"], f["fee"]) if withdraw else Transfer(f["sender"], f["to"],
                                                                                       f["amount"], f["fee"])
        key = forger.keys[env.users[f["signer"] - 2].address]
        draft = TransferCommitment(b"\0" * 32, key.sign(tx.message(env.client.domain, f["nonce"])),
                                   f["fee_receiver"], (tx,))
        try:
            root = apply_transfers(state, draft)[0].root
            kind = None if signature_valid(state, draft, env.client.domain, forger.by_hash.__getitem__) else "signature"
        except InvalidTransaction:
            root, kind = state.root, "transition"
        event(f"fraud={kind}")
        batch = forger.post([TransferCommitment(root, draft.signature, draft.fee_receiver, draft.transfers)])
        events = run_round([funded.checker])
        if kind is None:
            assert [e.text for e in events] == [
                "batch #1 (1 transfer in 1 commitment) replayed from Layer-1 data: every root and signature checks"]
            with pytest.raises(TransactionReverted, match="TransitionCorrect"):
                chain.call(env.client.contract.functions.challengeTransition(forger.transition_proof(batch, 0, state)))
        else:
            assert f"the {kind} proof" in events[-1].text and env.client.batch_count() == 1, events
    finally:
        chain.revert(snapshot)
