"""Our fast EIP-712 hashing equals eth-account's reference, and Python and Solidity agree on signatures."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.core.crypto import SECP256K1_HALF_N, SECP256K1_N, from_compact, sign_digest, to_compact
from l2.core.crypto import recover as recover_signer
from l2.core.eip712 import StructType, domain_separator, typed_data_digest
from l2.errors import InvalidSignature, TransactionReverted

PROBE = StructType(
    "Probe",
    (("bytes32", "channelId"), ("uint8", "messageType"), ("uint256", "amount"), ("address", "to"), ("bool", "flag")),
)
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
OWNER = Account.from_key(KEY).address


def reference_digest(values, chain_id, contract):
    full = {
        "types": PROBE.eth_account_types(),
        "primaryType": "Probe",
        "domain": {"name": "Probe", "version": "1", "chainId": chain_id, "verifyingContract": contract},
        "message": values,
    }
    signable = encode_typed_data(full_message=full)
    from eth_account.messages import _hash_eip191_message

    return _hash_eip191_message(signable)


@settings(max_examples=60, deadline=None)
@given(
    channel=st.binary(min_size=32, max_size=32),
    message_type=st.integers(0, 255),
    amount=st.integers(0, 2**256 - 1),
    to=st.binary(min_size=20, max_size=20),
    flag=st.booleans(),
    chain_id=st.integers(1, 2**63),
)
def test_digest_equals_eth_account_reference(channel, message_type, amount, to, flag, chain_id):
    contract = "0x" + "11" * 20
    values = {"channelId": channel, "messageType": message_type, "amount": amount, "to": "0x" + to.hex(), "flag": flag}
    ours = typed_data_digest(domain_separator("Probe", "1", chain_id, contract), PROBE.hash_struct(values))
    assert ours == reference_digest(values, chain_id, contract)


def test_sign_and_recover_round_trip_and_compact_form():
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    assert recover_signer(digest, signature) == OWNER
    assert from_compact(to_compact(signature)) == signature
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2


def test_high_s_twin_is_rejected():
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with pytest.raises(InvalidSignature, match="high s"):
        recover_signer(digest, twin)


@pytest.fixture(scope="module")
def harness(chain):
    return chain.deploy("SignaturesHarness")


def test_solidity_digest_and_recovery_match_python(chain, harness):
    struct_hash = PROBE.hash_struct(
        {"channelId": b"\1" * 32, "messageType": 3, "amount": 10**18, "to": OWNER, "flag": True}
    )
    digest = typed_data_digest(domain_separator("Probe", "1", chain.chain_id, harness.address), struct_hash)
    assert chain.call(harness.functions.digest("Probe", "1", struct_hash)) == digest
    signature = sign_digest(KEY, digest)
    assert chain.call(harness.functions.recover(digest, signature)) == OWNER
    compact = to_compact(signature)
    assert chain.call(harness.functions.recoverCompact(digest, compact[:32], compact[32:])) == OWNER


def test_solidity_rejects_high_s_and_garbage(chain, harness):
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with pytest.raises(TransactionReverted, match="InvalidSignatureS"):
        chain.call(harness.functions.recover(digest, twin))
    with pytest.raises(TransactionReverted, match="InvalidSignatureLength"):
        chain.call(harness.functions.recover(digest, signature[:64]))
    with pytest.raises(TransactionReverted, match="InvalidSignatureV"):
        chain.call(harness.functions.recover(digest, signature[:64] + b"\x05"))
    with pytest.raises(TransactionReverted, match="InvalidSigner"):
        chain.call(harness.functions.recover(digest, b"\0" * 32 + b"\0" * 31 + b"\1" + b"\x1b"))


def test_solidity_try_recover_compact_returns_zero_instead_of_reverting(chain, harness):
    digest = bytes(range(32))
    compact = to_compact(sign_digest(KEY, digest))
    r, vs = compact[:32], compact[32:]
    assert chain.call(harness.functions.tryRecoverCompact(digest, r, vs)) == OWNER
    zero = "0x" + "00" * 20
    # A real signature's malleable twin N - s is >= 2**255 for almost every s, so EIP-2098 cannot even
    # express it (the top bit is v). The smallest high s it can carry is HALF_N + 1: where
    # recoverCompact reverts, tryRecoverCompact must answer the zero address.
    high_s = (SECP256K1_HALF_N + 1).to_bytes(32, "big")
    with pytest.raises(TransactionReverted, match="InvalidSignatureS"):
        chain.call(harness.functions.recoverCompact(digest, r, high_s))
    assert chain.call(harness.functions.tryRecoverCompact(digest, r, high_s)) == zero
    assert chain.call(harness.functions.tryRecoverCompact(digest, b"\0" * 32, vs)) == zero
