"""Malformed messages are refused at the door, by the decoder of their type, with an error naming the
field: never a raw KeyError, TypeError, OverflowError or ValueError, and never after anything was
signed or stored."""

from __future__ import annotations

import copy
import json

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core.crypto import SECP256K1_N
from l2.designs.channels import messages
from l2.designs.channels.errors import (
    BadFieldType,
    FieldOutOfRange,
    InvalidAmount,
    MalformedMessage,
    MissingField,
    WrongMessageType,
)
from l2.designs.channels.party import Party
from l2.designs.channels.rules import ZERO_ADDRESS, ChannelParams, Funding
from l2.designs.channels.storage import ChannelStore
from l2.errors import InvalidSignature, L2Error

KEY_A, KEY_B = bytes([1]) * 32, bytes([2]) * 32
PARAMS = ChannelParams(Account.from_key(KEY_A).address, Account.from_key(KEY_B).address, ZERO_ADDRESS, 100, 1)
DOMAIN = messages.ChannelDomain(31337, "0x" + "42" * 20)
FUNDING = Funding(deposit_a=1000, deposit_b=500)
EXPIRY = 10**10
TENTH = 10**17

U64, U256, B32, ADDR, SIG, TAG, OBJ = "uint64", "uint256", "bytes32", "address", "signature", "type", "object"
PROOF_FIELDS = {"proof": OBJ, "proof.channelId": B32, "proof.nonce": U64, "proof.transferredA": U256,
                "proof.transferredB": U256, "proof.lockedA": U256, "proof.lockedB": U256, "proof.locksRoot": B32}
FIELDS = {
    "BalanceProof": {"type": TAG, **PROOF_FIELDS, "signature": SIG},
    "BalanceProofAck": {"type": TAG, **PROOF_FIELDS, "signature": SIG},
    "Withdraw": {"type": TAG, "channelId": B32, "participant": ADDR, "totalWithdraw": U256, "expiry": U64,
                 "signature": SIG},
    "CooperativeClose": {"type": TAG, "channelId": B32, **{f: U256 for f in (
        "balanceA", "balanceB", "depositA", "depositB", "withdrawnA", "withdrawnB")}, "expiry": U64, "signature": SIG},
}


def _high_s(signature_hex: str) -> str:
    sig = bytes.fromhex(signature_hex[2:])
    s = int.from_bytes(sig[32:64], "big")
    return "0x" + (sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])).hex()


def _flip_case(address: str) -> str:
    """The same address with one letter's case changed: a wrong EIP-55 checksum."""
    i = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:i] + address[i].swapcase() + address[i + 1:]


# (what, replacement value or a function of the valid value, expected error) per kind of field
MUTATIONS = {
    U64: [("None", None, BadFieldType), ("a list", [1], BadFieldType), ("a float", 1.5, BadFieldType),
          ("a bool", True, BadFieldType), ("non-decimal text", "12abc", BadFieldType), ("hex text", "0x10",
                                                                                        BadFieldType),
          ("negative", -1, FieldOutOfRange), ("negative text", "-1", FieldOutOfRange),
          ("2**64", 2**64, FieldOutOfRange), ("2**64 as text", str(2**64), FieldOutOfRange),
          ("5,000 digits", "9" * 5000, FieldOutOfRange)],
    U256: [("None", None, BadFieldType), ("an object", {}, BadFieldType), ("a float", 2.0, BadFieldType),
           ("a bool", False, BadFieldType), ("empty text", "", BadFieldType), ("padded text", " 5", BadFieldType),
           ("negative", -5, FieldOutOfRange), ("2**256", 2**256, FieldOutOfRange),
           ("2**256 as text", str(2**256), FieldOutOfRange), ("5,000 digits", "9" * 5000, FieldOutOfRange)],
    B32: [("None", None, BadFieldType), ("an int", 5, BadFieldType), ("no 0x", lambda v: v[2:], BadFieldType),
          ("non-hex", "0x" + "zz" * 32, BadFieldType), ("odd length", lambda v: v + "0", BadFieldType),
          ("2 bytes", "0x1234", FieldOutOfRange), ("33 bytes", lambda v: v + "00", FieldOutOfRange)],
    ADDR: [("None", None, BadFieldType), ("an int", 7, BadFieldType), ("2 bytes", "0x1234", FieldOutOfRange),
           ("a wrong checksum", _flip_case, BadFieldType), ("21 bytes", lambda v: v + "00", FieldOutOfRange)],
    SIG: [("None", None, BadFieldType), ("a list", [], BadFieldType), ("non-hex", "nothex", BadFieldType),
          ("2 bytes", "0x1234", InvalidSignature), ("66 bytes", lambda v: v + "00", InvalidSignature),
          ("v = 29", lambda v: v[:-2] + "1d", InvalidSignature), ("a high s", _high_s, InvalidSignature)],
    TAG: [("None", None, WrongMessageType), ("another type", "Nope", WrongMessageType),
          ("a number", 1, WrongMessageType)],
    OBJ: [("None", None, BadFieldType), ("a list", [], BadFieldType), ("text", "{}", BadFieldType)],
}


def _get(message: dict, path: str):
    *parents, name = path.split(".")
    for parent in parents:
        message = message[parent]
    return message, name


def mutated(message: dict, path: str, value) -> dict:
    """A deep copy of `message` with the field at `path` replaced (or deleted if `value` is ...)."""
    message = copy.deepcopy(message)
    holder, name = _get(message, path)
    if value is ...:
        del holder[name]
    else:
        holder[name] = value(holder[name]) if callable(value) else value
    return message


def cases():
    for kind, fields in FIELDS.items():
        for path, field_kind in fields.items():
            yield pytest.param(kind, path, ..., MissingField, id=f"{kind}-{path}-missing")
            for what, value, error in MUTATIONS[field_kind]:
                yield pytest.param(kind, path, value, error, id=f"{kind}-{path}-{what}")
        for what, value in (("None", None), ("a list", []), ("text", "BalanceProof"), ("a number", 3)):
            yield pytest.param(kind, None, value, BadFieldType, id=f"{kind}-message-{what}")


@pytest.fixture
def parties(tmp_path):
    return (Party(PARAMS, DOMAIN, KEY_A, funding=FUNDING, store=ChannelStore(tmp_path / "a.db")),
            Party(PARAMS, DOMAIN, KEY_B, funding=FUNDING, store=ChannelStore(tmp_path / "b.db")))


def entry_point(kind: str, party_a: Party, party_b: Party):
    """(a valid message of `kind`, the party that takes it, its entry point)."""
    if kind == "BalanceProof":
        return party_a.pay(10), party_b, party_b.receive
    if kind == "BalanceProofAck":
        return party_b.receive(party_a.pay(10)), party_a, party_a.receive_ack
    if kind == "Withdraw":
        return party_a.request_withdraw(100, expiry=EXPIRY), party_b, party_b.approve_withdraw
    return party_a.propose_cooperative_close(expiry=EXPIRY), party_b, party_b.countersign_cooperative_close


@pytest.mark.parametrize("kind, path, value, error", cases())
def test_malformed_message_is_refused_naming_the_field_and_changes_nothing(parties, everything, kind, path, value,
                                                                          error):
    party_a, party_b = parties
    message, party, take = entry_point(kind, party_a, party_b)
    json.dumps(message)  # the valid one is JSON-ready
    bad = value if path is None else mutated(message, path, value)
    before = everything(party)
    with pytest.raises(error) as refused:
        take(bad)
    assert everything(party) == before
    if isinstance(refused.value, MalformedMessage):
        assert refused.value.field == (path or "message") and refused.value.message_type == kind
        assert (path or "message") in str(refused.value)
    else:
        assert "signature" in str(refused.value)
    take(message)  # and the valid message still goes through afterwards


def test_cooperative_close_expiring_at_2_64_is_refused_before_it_is_signed_or_stored(
    chain, registry, alice, bob, open_channel, everything, tmp_path
):
    """It used to be counter-signed and stored (the party then refused payments for a close no
    contract call could encode), failing only when web3 encoded the expiry."""
    party_a, party_b = open_channel(chain, registry, alice, bob, store_b=ChannelStore(tmp_path / "b.db"))
    proposal = party_a.propose_cooperative_close()
    forged = {**proposal, "expiry": 2**64}
    before = everything(party_b)
    for take in (party_b.countersign_cooperative_close, party_b.accept_cooperative_close):
        with pytest.raises(FieldOutOfRange, match=r"CooperativeClose message: expiry must be in \[0, 2\*\*64\)"):
            take(forged)
        assert everything(party_b) == before and party_b.signed_close is None
    with pytest.raises(InvalidAmount, match="expiry"):
        party_a.propose_cooperative_close(expiry=2**64)
    party_b.accept_cooperative_close(proposal)  # the real one is fine


def test_withdraw_submission_decodes_both_messages_first(chain, channel, everything):
    party_a, party_b = channel
    request = party_a.request_withdraw(TENTH, expiry=chain.now() + 3600)
    approval = party_b.approve_withdraw(request)
    before = everything(party_a)
    for bad, error, field in [
        ((mutated(request, "totalWithdraw", -1), approval), FieldOutOfRange, "totalWithdraw"),
        ((request, mutated(approval, "expiry", ...)), MissingField, "expiry"),
        ((request, mutated(approval, "participant", "0x12")), FieldOutOfRange, "participant"),
        ((request, None), BadFieldType, "message"),
    ]:
        with pytest.raises(error) as refused:
            party_a.withdraw(*bad)
        assert refused.value.field == field and everything(party_a) == before
    party_a.withdraw(request, approval)


@pytest.mark.parametrize("call, value", [
    ("pay", True), ("pay", 1.5), ("pay", -1), ("pay", 2**256), ("pay", "10"),
    ("deposit", True), ("deposit", 0), ("deposit", 2**256),
    ("request_withdraw", None), ("propose_cooperative_close", -1), ("propose_cooperative_close", True),
])
def test_bad_amounts_and_expiries_given_to_a_party_are_refused(chain, channel, everything, call, value):
    party_a, _ = channel
    before = everything(party_a)
    with pytest.raises(InvalidAmount):
        if call == "request_withdraw":
            party_a.request_withdraw(TENTH, expiry=2**64 if value is None else value)
        else:
            getattr(party_a, call)(value)
    assert everything(party_a) == before


# --- fuzzing -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80)
    | st.sampled_from(["0x", "0x" + "00" * 32, "0x" + "ab" * 65, str(2**64), "-0", "１２"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
DECODERS = [messages.decode_balance_proof_message, messages.decode_balance_proof_ack,
            messages.decode_withdraw_message, messages.decode_cooperative_close_message]


@settings(max_examples=300, deadline=None)
@given(value=json_values, decoder=st.sampled_from(DECODERS))
def test_decoders_raise_only_project_errors_on_anything(value, decoder):
    try:
        decoder(value)
    except (MalformedMessage, InvalidSignature):
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(FIELDS)), data=st.data())
def test_mutated_messages_never_raise_anything_but_project_errors_nor_change_the_party(tmp_path_factory, everything,
                                                                                     kind, data):
    directory = tmp_path_factory.mktemp("fuzz")
    party_a = Party(PARAMS, DOMAIN, KEY_A, funding=FUNDING, store=ChannelStore(directory / "a.db"))
    party_b = Party(PARAMS, DOMAIN, KEY_B, funding=FUNDING, store=ChannelStore(directory / "b.db"))
    message, party, take = entry_point(kind, party_a, party_b)
    bad = message
    for path in data.draw(st.lists(st.sampled_from(list(FIELDS[kind])), min_size=1, max_size=3)):
        try:
            bad = mutated(bad, path, data.draw(st.just(...) | json_values))
        except (KeyError, TypeError):
            pass  # a parent of this field is gone or no longer an object already
    before = everything(party)
    try:
        take(bad)
    except L2Error:
        assert everything(party) == before
