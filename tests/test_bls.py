"""BLS12-381 in Python (`l2.core.bls`, blst) and in Solidity (`BLS.sol`, EIP-2537 precompiles) agree:
the same message hashes to the same G1 point, and the chain accepts exactly the aggregates Python accepts.

py-evm's pairing is pure Python (~0.5 s a pair), so the embedded chain checks small aggregates; anvil
checks one of 128 messages (the size of a rollup commitment) and the dispute's gas is measured by the bench.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core import bls
from l2.errors import TransactionReverted

KEYS = [bls.BlsKey.derive(bytes([i]) * 32) for i in range(1, 6)]


@pytest.fixture(scope="module")
def harness(chain):
    return chain.deploy("BLSHarness")


def aggregate_call(harness, signature: bytes, keys: list[bytes], messages: list[bytes]):
    return harness.functions.verifyAggregate(bls.g1_calldata(signature), [bls.g2_evm(k) for k in keys],
                                             messages).call()


# --- Python alone --------------------------------------------------------------------------------

def test_an_aggregate_verifies_only_with_its_own_keys_and_messages():
    a, b, c = KEYS[:3]
    messages = [b"one", b"two", b"three"]
    signature = bls.aggregate([a.sign(messages[0]), b.sign(messages[1]), c.sign(messages[2])])
    assert bls.verify_aggregate([a.public, b.public, c.public], messages, signature)
    assert not bls.verify_aggregate([a.public, c.public, b.public], messages, signature)  # keys swapped
    assert not bls.verify_aggregate([a.public, b.public, c.public], [b"one", b"two", b"four"], signature)
    assert not bls.verify_aggregate([a.public, b.public], messages[:2], signature)  # one left out
    assert not bls.verify_aggregate([a.public, b.public, c.public], messages, a.sign(b"one"))


def test_one_key_signing_twice_aggregates():
    """A sender with two transfers in one commitment signs two messages with one key (Hubble's bug)."""
    a, b = KEYS[:2]
    signature = bls.aggregate([a.sign(b"first"), b.sign(b"x"), a.sign(b"second")])
    assert bls.verify_aggregate([a.public, b.public, a.public], [b"first", b"x", b"second"], signature)
    assert not bls.verify_aggregate([a.public, b.public, a.public], [b"first", b"x", b"first"], signature)


def test_a_possession_proof_is_not_a_signature_and_a_signature_is_not_a_possession_proof():
    a = KEYS[0]
    message = b"register " + a.public
    assert bls.verify_possession(a.public, message, a.prove_possession(message))
    assert not bls.verify(a.public, message, a.prove_possession(message))
    assert not bls.verify_possession(a.public, message, a.sign(message))


def test_a_rogue_key_forges_an_aggregate_but_cannot_prove_possession():
    """pk_rogue = pk_m - pk_alice makes e(sig_m, g2) match "alice and rogue signed m": the attack that
    proofs of possession stop."""
    import pyblst

    alice, mallory = KEYS[0], KEYS[1]
    rogue = (pyblst.BlstP2Element.uncompress(mallory.public)
             + -pyblst.BlstP2Element.uncompress(alice.public)).compress()
    forged = mallory.sign(b"pay mallory")  # only mallory's secret was used
    assert bls.verify_aggregate([alice.public, rogue], [b"pay mallory", b"pay mallory"], forged)
    message = b"register " + rogue
    assert not bls.verify_possession(rogue, message, mallory.prove_possession(message))


@pytest.mark.parametrize("bad", [b"", b"\x00" * 48, b"\xc0" + b"\x00" * 47, b"\x80" + b"\x01" * 47, b"\xff" * 48])
def test_bytes_that_are_not_a_signature_are_refused(bad):
    assert not bls.verify(KEYS[0].public, b"m", bad)
    with pytest.raises(bls.InvalidBlsPoint):
        bls.aggregate([bad])


def test_calldata_encoding_round_trips_and_refuses_points_off_the_curve():
    signature = KEYS[0].sign(b"m")
    data = bls.g1_calldata(signature)
    assert len(data) == 96 and bls.g1_from_calldata(data) == signature
    with pytest.raises(bls.InvalidBlsPoint):
        bls.g1_from_calldata(data[:48] + (int.from_bytes(data[48:], "big") ^ 1).to_bytes(48, "big"))
    with pytest.raises(bls.InvalidBlsPoint):
        bls.g1_from_calldata(data[:95])


def test_keys_derive_deterministically_and_refuse_zero():
    assert bls.BlsKey.derive(b"k" * 32) == bls.BlsKey.derive(b"k" * 32) != bls.BlsKey.derive(b"j" * 32)
    with pytest.raises(bls.InvalidBlsPoint):
        bls.BlsKey.from_secret(bls.R)
    with pytest.raises(bls.InvalidBlsPoint):
        bls.check_public_key(b"\xc0" + b"\x00" * 95)


# --- Python against the precompiles --------------------------------------------------------------

@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(max_size=100))
def test_python_and_solidity_hash_a_message_to_the_same_point(harness, message):
    assert bytes(harness.functions.hashToG1(message, bls.DST_SIGNATURE).call()) == bls.hash_to_g1_evm(message)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=32, max_size=32), possession=st.booleans())
def test_the_allocation_free_digest_hash_is_the_same_point(harness, message, possession):
    dst = bls.DST_POSSESSION if possession else bls.DST_SIGNATURE
    assert bytes(harness.functions.hashDigestToG1(message, possession).call()) == bls.hash_to_g1_evm(message, dst)


def test_expand_message_matches_rfc_9380_test_vector(harness):
    """RFC 9380 appendix K.1 (expand_message_xmd, SHA-256, len_in_bytes = 0x80, msg = "")."""
    dst = b"QUUX-V01-CS02-with-expander-SHA256-128"
    expected = bytes.fromhex(
        "af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbee0d121587713a3e0dd4d5e69e93eb7cd4f5df4"
        "cd103e188cf60cb02edc3edf18eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dcc541708d3491"
        "184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced")
    assert bytes(harness.functions.expandMessageXmd(b"", dst).call()) == expected


def test_the_chain_accepts_an_aggregate_python_accepts_and_refuses_a_forged_one(harness):
    a, b = KEYS[:2]
    messages = [b"\x01" * 32, b"\x02" * 32]
    signature = bls.aggregate([a.sign(messages[0]), b.sign(messages[1])])
    assert aggregate_call(harness, signature, [a.public, b.public], messages) == [True, True]
    assert aggregate_call(harness, signature, [b.public, a.public], messages) == [True, False]
    forged = bls.aggregate([a.sign(messages[0]), b.sign(b"\x03" * 32)])
    assert aggregate_call(harness, forged, [a.public, b.public], messages) == [True, False]


def test_a_signature_off_the_curve_is_invalid_not_a_revert(harness):
    """The signature fraud proof counts a malformed aggregate as fraud, so the check must say so."""
    good = bls.g1_calldata(KEYS[0].sign(b"m"))
    off_curve = good[:48] + (int.from_bytes(good[48:], "big") ^ 1).to_bytes(48, "big")
    valid, equal = harness.functions.verifyAggregate(off_curve, [bls.g2_evm(KEYS[0].public)], [b"m"]).call()
    assert (valid, equal) == (False, False)


def test_a_starved_pairing_reverts_instead_of_calling_a_good_signature_bad(chain, harness):
    """With too little gas the precompile would fail like on a bad point; the library reverts instead."""
    signature = KEYS[0].sign(b"m")
    fn = harness.functions.checkAggregate(bls.g1_calldata(signature), [bls.g2_evm(KEYS[0].public)], [b"m"])
    with pytest.raises(TransactionReverted, match="NotEnoughGasForPairing"):
        chain.transact(fn, chain.accounts[0], gas=140_000)


def test_proof_of_possession_on_chain(harness):
    """The check OptimisticRollup.registerKey makes (through AggregateSignatures): a 32-byte message, a
    compressed proof."""
    from l2.core.crypto import keccak

    a, b = KEYS[:2]
    message = keccak(b"register " + a.public)
    key = bls.g2_evm(a.public)
    assert harness.functions.verifyPossession(key, message, a.prove_possession(message)).call()
    assert not harness.functions.verifyPossession(key, message, a.sign(message)).call()
    assert not harness.functions.verifyPossession(bls.g2_evm(b.public), message, a.prove_possession(message)).call()
    # The point at infinity would accept the infinity "signature" for any message.
    assert not harness.functions.verifyPossession(b"\x00" * 256, message, b"\xc0" + b"\x00" * 47).call()


def test_anvil_checks_a_commitment_sized_aggregate(anvil_chain):
    harness = anvil_chain.deploy("BLSHarness")
    keys = [bls.BlsKey.from_secret(1000 + i) for i in range(128)]
    messages = [i.to_bytes(32, "big") for i in range(128)]
    signature = bls.aggregate([k.sign(m) for k, m in zip(keys, messages, strict=True)])
    public = [bls.g2_evm(k.public) for k in keys]
    assert harness.functions.verifyAggregate(bls.g1_calldata(signature), public, messages).call() == [True, True]
    messages[77] = b"\xff" * 32
    assert harness.functions.verifyAggregate(bls.g1_calldata(signature), public, messages).call() == [True, False]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.integers(1, bls.R - 1), message=st.binary(max_size=40))
def test_the_chain_decompresses_a_signature_as_python_does(harness, secret, message):
    signature = bls.BlsKey.from_secret(secret).sign(message)
    assert harness.functions.decompressG1(signature).call() == [True, bls.g1_evm(signature)]


@pytest.mark.parametrize("bad", [
    b"\x00" * 48,  # no compression flag
    b"\xc0" + b"\x00" * 47,  # the point at infinity
    b"\x9a" + b"\xff" * 47,  # x >= p
    (0x80 << 376 | 1).to_bytes(48, "big"),  # x = 1: 1 + 4 = 5 has no square root mod p
])
def test_bytes_that_are_no_g1_point_decompress_to_not_ok(harness, bad):
    assert harness.functions.decompressG1(bad).call()[0] is False
    with pytest.raises(bls.InvalidBlsPoint):
        bls.aggregate([bad])
