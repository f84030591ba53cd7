"""Off-chain rules: every bad message raises its own exception and leaves the receiver unchanged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from l2.designs.channels import messages, rules
from l2.designs.channels.errors import (
    ConcurrentUpdate,
    LocksNotSupported,
    NonceNotNext,
    Overspend,
    TotalsNotConserved,
    UpdateInFlight,
    WrongChannel,
)
from l2.designs.channels.messages import ChannelDomain, Signer, balance_proof_digest
from l2.designs.channels.party import Party
from l2.designs.channels.rules import ZERO_ADDRESS, A, ChannelParams, Funding
from l2.errors import InputError, InvalidSignature

KEY_A, KEY_B, KEY_M = (bytes([i]) * 32 for i in (1, 2, 3))
ADDR_A, ADDR_B = (Account.from_key(k).address for k in (KEY_A, KEY_B))
REGISTRY = "0x" + "ab" * 20
DOMAIN = ChannelDomain(31337, Account.from_key(bytes([9]) * 32).address)
PARAMS = ChannelParams(ADDR_A, ADDR_B, ZERO_ADDRESS, 100, 1)
FUNDING = Funding(deposit_a=1000, deposit_b=500)


@pytest.fixture
def parties():
    return (
        Party(PARAMS, DOMAIN, KEY_A, funding=FUNDING),
        Party(PARAMS, DOMAIN, KEY_B, funding=FUNDING),
    )


def _snapshot(party: Party):
    return (party.latest, party.pending, party.funding)


def _signed_message(proof, key=KEY_A, domain=DOMAIN) -> dict:
    sig = Signer(key).sign(balance_proof_digest(domain, proof))
    return {"type": "BalanceProof", "proof": proof.to_json(), "signature": "0x" + sig.hex()}


def test_payments_flow_both_ways_in_any_order(parties, pay):
    party_a, party_b = parties
    for payer, receiver, amount in [(party_a, party_b, 10), (party_a, party_b, 5), (party_b, party_a, 200),
                                    (party_a, party_b, 1), (party_b, party_a, 7)]:
        pay(payer, receiver, amount)
    assert party_a.latest == party_b.latest and party_a.latest.complete
    assert party_a.balance() == 1000 - 16 + 207
    assert party_b.balance() == 500 + 16 - 207
    assert party_a.balance() + party_b.balance() == FUNDING.total


def test_messages_are_json(parties):
    party_a, party_b = parties
    wire = json.dumps(party_a.pay(10))
    ack = json.dumps(party_b.receive(json.loads(wire)))
    party_a.receive_ack(json.loads(ack))
    assert party_a.nonce == party_b.nonce == 1


def test_forged_signature_is_rejected_and_state_unchanged(parties):
    party_a, party_b = parties
    before = _snapshot(party_b)
    proof = rules.next_payment(FUNDING, party_b.latest.proof, A, 10)
    with pytest.raises(InvalidSignature, match="expected " + ADDR_A):
        party_b.receive(_signed_message(proof, key=KEY_M))
    assert _snapshot(party_b) == before


def test_replayed_update_is_rejected(parties, pay):
    party_a, party_b = parties
    message = party_a.pay(10)
    first_ack = party_b.receive(message)
    party_a.receive_ack(first_ack)
    pay(party_a, party_b, 5)
    before = _snapshot(party_b)
    with pytest.raises(NonceNotNext, match="nonce 1, expected 3"):
        party_b.receive(message)
    assert _snapshot(party_b) == before


def test_redelivered_latest_update_gets_the_same_ack_and_changes_nothing(parties):
    party_a, party_b = parties
    message = party_a.pay(10)
    ack = party_b.receive(message)
    before = _snapshot(party_b)
    assert party_b.receive(message) == ack  # the payer lost the ack (crash) and asks again
    assert _snapshot(party_b) == before


def test_reordered_update_is_rejected(parties):
    _, party_b = parties
    skipped = replace(rules.next_payment(FUNDING, party_b.latest.proof, A, 10), nonce=2)
    with pytest.raises(NonceNotNext, match="nonce 2, expected 1"):
        party_b.receive(_signed_message(skipped))
    assert party_b.nonce == 0


def test_overspend_is_rejected(parties):
    _, party_b = parties
    proof = rules.BalanceProof(PARAMS.channel_id, 1, transferred_a=1001)
    with pytest.raises(Overspend, match="has only 1000"):
        party_b.receive(_signed_message(proof))
    assert party_b.nonce == 0


def test_update_charging_the_receiver_is_rejected(parties):
    _, party_b = parties
    proof = rules.BalanceProof(PARAMS.channel_id, 1, transferred_a=10, transferred_b=5)
    with pytest.raises(TotalsNotConserved, match="receiver's running total"):
        party_b.receive(_signed_message(proof))
    zero = rules.BalanceProof(PARAMS.channel_id, 1)
    with pytest.raises(TotalsNotConserved, match="does not pay"):
        party_b.receive(_signed_message(zero))


def test_update_for_another_channel_or_chain_is_rejected(parties):
    _, party_b = parties
    other = replace(PARAMS, nonce=2)
    proof = rules.BalanceProof(other.channel_id, 1, transferred_a=10)
    with pytest.raises(WrongChannel):
        party_b.receive(_signed_message(proof))
    proof = rules.BalanceProof(PARAMS.channel_id, 1, transferred_a=10)
    with pytest.raises(InvalidSignature):
        party_b.receive(_signed_message(proof, domain=ChannelDomain(1, DOMAIN.registry)))
    with pytest.raises(InvalidSignature):
        party_b.receive(_signed_message(proof, domain=ChannelDomain(31337, REGISTRY)))
    assert party_b.nonce == 0


def test_locks_are_not_accepted_yet(parties):
    _, party_b = parties
    proof = rules.BalanceProof(PARAMS.channel_id, 1, transferred_a=10, locked_a=5)
    with pytest.raises(LocksNotSupported):
        party_b.receive(_signed_message(proof))


def test_payer_cannot_overspend_or_send_two_updates_at_once(parties):
    party_a, party_b = parties
    with pytest.raises(InputError, match="only 1000 available"):
        party_a.pay(1001)
    with pytest.raises(InputError, match="positive"):
        party_a.pay(0)
    party_a.pay(10)
    with pytest.raises(UpdateInFlight):
        party_a.pay(10)


def test_payment_racing_an_ack_fails_cleanly_and_succeeds_when_retried(parties):
    party_a, party_b = parties
    ack_a = party_b.receive(party_a.pay(10))  # Bob has co-signed Alice's payment ...
    bob_pays = party_b.pay(5)  # ... and pays before his acknowledgement reaches her
    before = (_snapshot(party_a), _snapshot(party_b))
    with pytest.raises(ConcurrentUpdate, match="deliver that acknowledgement, then this update again"):
        party_a.receive(bob_pays)
    assert (_snapshot(party_a), _snapshot(party_b)) == before
    party_a.receive_ack(ack_a)  # the first payment completes
    party_b.receive_ack(party_a.receive(bob_pays))  # the same message, delivered again, now goes through
    assert party_a.latest == party_b.latest and party_a.nonce == 2
    assert party_a.balance() == 1000 - 10 + 5 and party_b.balance() == 500 + 10 - 5


def test_replayed_acknowledgement_is_rejected(parties):
    party_a, party_b = parties
    ack = party_b.receive(party_a.pay(10))
    party_a.receive_ack(ack)
    before = _snapshot(party_a)
    with pytest.raises(NonceNotNext):
        party_a.receive_ack(ack)
    assert _snapshot(party_a) == before


def test_withdraw_request_beyond_balance_is_rejected(parties, pay):
    party_a, party_b = parties
    pay(party_b, party_a, 100)
    request = party_a.request_withdraw(1100, expiry=10**10)
    party_b.approve_withdraw(request)
    assert party_b.funding.withdrawn_a == 1100 and party_b.balance(A) == 0
    with pytest.raises(Overspend):
        party_b.approve_withdraw({**request, "totalWithdraw": "1101"})


def test_settlement_clamps_a_stale_proof(parties):
    funding = Funding(deposit_a=10, deposit_b=10, withdrawn_a=15)
    stale = rules.BalanceProof(PARAMS.channel_id, 1)  # before B paid A the 10 that A then withdrew
    assert rules.settlement(funding, stale) == (0, 5)


@pytest.mark.parametrize(
    "struct, values",
    [
        (messages.BALANCE_PROOF, {"channelId": b"\x11" * 32, "messageType": 1, "nonce": 7, "transferredA": 5,
                                  "transferredB": 3, "lockedA": 0, "lockedB": 0, "locksRoot": b"\0" * 32}),
        (messages.WITHDRAW, {"channelId": b"\x11" * 32, "messageType": 2, "participant": ADDR_A,
                             "totalWithdraw": 9, "expiry": 123}),
        (messages.COOPERATIVE_CLOSE, {"channelId": b"\x11" * 32, "messageType": 3, "balanceA": 1, "balanceB": 2,
                                      "depositA": 5, "depositB": 4, "withdrawnA": 3, "withdrawnB": 3, "expiry": 456}),
    ],
)
def test_typed_data_matches_eth_account(struct, values):
    domain = {"name": "ChannelRegistry", "version": "1", "chainId": DOMAIN.chain_id,
              "verifyingContract": DOMAIN.registry}
    full = {"types": struct.eth_account_types(), "primaryType": struct.name, "domain": domain, "message": values}
    encoded = encode_typed_data(full_message=full)
    expected = Account.sign_message(encoded, KEY_A)
    ours = messages.typed_data_digest(DOMAIN.separator, struct.hash_struct(values))
    assert ours == bytes(expected.message_hash)
    if struct is messages.BALANCE_PROOF:
        proof = rules.BalanceProof(values["channelId"], 7, 5, 3)
        assert balance_proof_digest(DOMAIN, proof) == ours
    if struct is messages.COOPERATIVE_CLOSE:
        close = rules.CooperativeClose(values["channelId"], 1, 2, Funding(5, 4, 3, 3), 456)
        assert messages.cooperative_close_digest(DOMAIN, close) == ours


def test_solidity_and_python_agree_on_types_domain_and_ids(chain, registry, alice, bob):
    fns = registry.functions
    assert fns.BALANCE_PROOF_TYPEHASH().call() == messages.BALANCE_PROOF.typehash
    assert fns.WITHDRAW_TYPEHASH().call() == messages.WITHDRAW.typehash
    assert fns.COOPERATIVE_CLOSE_TYPEHASH().call() == messages.COOPERATIVE_CLOSE.typehash
    assert fns.domainSeparator().call() == ChannelDomain(chain.chain_id, registry.address).separator
    params = ChannelParams(alice.address, bob.address, ZERO_ADDRESS, 100, 42)
    assert fns.channelIdOf(params.as_tuple()).call() == params.channel_id


def test_forged_ack_is_caught_before_layer1_use_and_costs_the_payer_nothing(parties, pay):
    party_a, party_b = parties
    pay(party_b, party_a, 50)  # a state Bob signed as payer: verified on receipt
    ack = party_b.receive(party_a.pay(10))
    forged = {**ack, "signature": "0x" + Signer(KEY_M).sign(b"\x01" * 32).hex()}
    party_a.receive_ack(forged)  # format-checked only: the ack just records Alice's own payment
    with pytest.raises(InvalidSignature, match="BalanceProofAck"):
        party_a.check_acks()
    assert party_a.verified.proof.nonce == 1  # Alice closes with the state before her payment
    assert rules.balance(FUNDING, party_a.verified.proof, A) > party_a.balance()


def test_malformed_ack_is_rejected_at_once(parties):
    party_a, party_b = parties
    ack = party_b.receive(party_a.pay(10))
    before = _snapshot(party_a)
    with pytest.raises(InvalidSignature, match="65 bytes"):
        party_a.receive_ack({**ack, "signature": "0x1234"})
    assert _snapshot(party_a) == before
