"""Each attack the registry defends against, tried on Layer 1, with the exact revert asserted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from l2.core.crypto import SECP256K1_N
from l2.designs.channels.errors import ChannelClosed, TotalsNotConserved
from l2.designs.channels.messages import ChannelDomain, Signer, balance_proof_digest, recover
from l2.designs.channels.party import Party
from l2.designs.channels.rules import ZERO_ADDRESS, CooperativeClose
from l2.designs.channels.storage import SignedProof
from l2.errors import InvalidSignature, TransactionReverted

ETHER = 10**18
PERIOD = 100


def _sign_both(proof, domain, *accounts) -> SignedProof:
    digest = balance_proof_digest(domain, proof)
    sig_a, sig_b = (Signer(bytes(acc.key)).sign(digest) for acc in accounts)
    return SignedProof(proof, sig_a, sig_b)


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])  # 27 <-> 28


# --- replay across channels, contracts and chains --------------------------------------------


def test_proof_from_another_channel_is_rejected(chain, registry, alice, bob, open_channel, pay):
    party_a, party_b = open_channel(chain, registry, alice, bob)
    other_a, _ = open_channel(chain, registry, alice, bob)  # same participants, next nonce: new id
    pay(party_a, party_b, 10**17)
    pay(party_b, party_a, 10**18)  # proof worth a lot to Alice in the first channel
    with pytest.raises(TransactionReverted, match="WrongChannel"):
        other_a.close(party_a.latest)
    relabelled = replace(party_a.latest, proof=replace(party_a.latest.proof, channel_id=other_a.channel_id))
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        other_a.close(relabelled)


def test_proof_for_another_registry_is_rejected(chain, registry, alice, bob, open_channel, pay):
    other_registry = chain.deploy("ChannelRegistry", 10, 30 * 24 * 3600)
    party_a, party_b = open_channel(chain, registry, alice, bob)
    twin_a, _ = open_channel(chain, other_registry, alice, bob)
    assert twin_a.channel_id == party_a.channel_id  # same params, so only the EIP-712 domain differs
    pay(party_b, party_a, 5 * 10**17)
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        twin_a.close(party_a.latest)


def test_proof_for_another_chain_is_rejected(chain, channel, alice, bob):
    party_a, party_b = channel
    foreign = ChannelDomain(chain.chain_id + 1, party_a.registry.address)
    proof = replace(party_a.latest.proof, nonce=1, transferred_b=5 * 10**17)
    signed = _sign_both(proof, foreign, alice, bob)
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        party_a.close(signed)
    message = {"type": "BalanceProof", "proof": proof.to_json(), "signature": "0x" + signed.sig_b.hex()}
    with pytest.raises(InvalidSignature, match="expected"):
        party_a.receive(message)
    assert party_a.nonce == 0


# --- dispute ---------------------------------------------------------------------------------


def test_stale_close_is_overridden_and_cannot_be_reasserted(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 10**17)
    stale = party_a.latest
    pay(party_a, party_b, 10**17)
    party_a.close(stale)
    party_b.update_state()
    with pytest.raises(TransactionReverted, match=r"NonceNotIncreasing\(2, 1\)"):
        party_a.update_state(stale)
    with pytest.raises(TransactionReverted, match=r"NotCrossingWinner\(2, "):
        party_b.update_state()  # same nonce again: only a crossing's winner may replace it


def test_outsider_cannot_close(chain, channel, mallory):
    party_a, _ = channel
    with pytest.raises(TransactionReverted, match="NotParticipant"):
        chain.transact(
            party_a.registry.functions.close(party_a.params.as_tuple(), party_a.latest.proof.as_tuple(), b""), mallory
        )


def test_outsider_update_needs_both_signatures_but_a_watching_service_with_both_may_answer(
    chain, channel, mallory, pay
):
    party_a, party_b = channel
    pay(party_a, party_b, 10**17)
    stale = party_a.latest
    pay(party_a, party_b, 10**17)
    party_a.close(stale)
    fn = party_a.registry.functions.updateState
    newer = party_b.latest
    with pytest.raises(TransactionReverted, match="InvalidSignatureLength"):
        chain.transact(fn(party_a.params.as_tuple(), newer.proof.as_tuple(), newer.sig_a, b""), mallory)
    forged = Signer(bytes(mallory.key)).sign(balance_proof_digest(party_a.domain, newer.proof))
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        chain.transact(fn(party_a.params.as_tuple(), newer.proof.as_tuple(), newer.sig_a, forged), mallory)
    receipt = chain.transact(fn(party_a.params.as_tuple(), newer.proof.as_tuple(), newer.sig_a, newer.sig_b), mallory)
    (event,) = chain.events(receipt, party_a.registry, "StateUpdated")
    assert (event.submitter, event.nonce) == (mallory.address, 2)


def test_non_closer_cannot_update_with_a_proof_only_it_signed(chain, channel, bob):
    party_a, party_b = channel
    party_a.close()
    proof = replace(party_b.latest.proof, nonce=5, transferred_a=ETHER)  # "Alice paid me everything"
    own_sig = Signer(bytes(bob.key)).sign(balance_proof_digest(party_b.domain, proof))
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        party_b.update_state(SignedProof(proof, own_sig, own_sig))


def test_settle_before_the_challenge_period_ends_reverts(chain, channel):
    party_a, party_b = channel
    party_a.close()
    with pytest.raises(TransactionReverted, match="ChallengePeriodNotOver"):
        party_b.settle()


def test_update_after_the_challenge_period_reverts(chain, channel, pay):
    party_a, party_b = channel
    stale = party_a.latest
    pay(party_a, party_b, 1)
    party_a.close(stale)
    chain.advance_time(PERIOD)
    with pytest.raises(TransactionReverted, match="ChallengePeriodOver"):
        party_b.update_state()


def test_double_settle_reverts(chain, channel):
    party_a, party_b = channel
    party_a.close()
    chain.advance_time(PERIOD)
    party_b.settle()
    registry, params = party_a.registry, party_a.params.as_tuple()
    with pytest.raises(TransactionReverted, match="ChannelNotClosing"):
        chain.transact(registry.functions.settle(params), party_a.account)
    with pytest.raises(TransactionReverted, match="ChannelNotOpen"):
        chain.transact(registry.functions.deposit(params, 1), party_a.account, value=1)
    # The parties see it before spending gas: Alice reads it from Layer 1, Bob settled it himself.
    for party in (party_a, party_b):
        with pytest.raises(ChannelClosed, match="settled on Layer 1"):
            party.settle()
        with pytest.raises(ChannelClosed, match="settled on Layer 1"):
            party.deposit(1)


def test_cooperative_close_with_wrong_totals_or_after_close_reverts(chain, channel):
    party_a, party_b = channel
    proposal = party_a.propose_cooperative_close()
    forged = {**proposal, "balanceA": str(2 * ETHER), "balanceB": "0"}
    with pytest.raises(TotalsNotConserved, match="cooperative close proposes"):
        party_b.accept_cooperative_close(forged)
    countersigned = party_b.countersign_cooperative_close(proposal)
    party_b.accept_cooperative_close(proposal)
    close = CooperativeClose.from_json(proposal)
    sigs = (bytes.fromhex(m["signature"][2:]) for m in (proposal, countersigned))
    with pytest.raises(TransactionReverted, match="ChannelNotOpen"):  # replaying the close on Layer 1
        chain.transact(party_a.registry.functions.cooperativeClose(party_a.params.as_tuple(), close.as_tuple(), *sigs),
                       party_b.account)
    with pytest.raises(ChannelClosed, match="settled on Layer 1"):
        party_b.accept_cooperative_close(proposal)  # the party refuses before spending gas


# --- withdraw ----------------------------------------------------------------------------------


def test_withdraw_replay_reverts(chain, channel):
    party_a, party_b = channel
    request = party_a.request_withdraw(10**17, expiry=chain.now() + 3600)
    approval = party_b.approve_withdraw(request)
    party_a.withdraw(request, approval)
    with pytest.raises(TransactionReverted, match=r"WithdrawNotIncreasing"):
        party_a.withdraw(request, approval)


def test_expired_withdraw_reverts(chain, channel):
    party_a, party_b = channel
    request = party_a.request_withdraw(10**17, expiry=chain.now() + 10)
    approval = party_b.approve_withdraw(request)
    chain.advance_time(60)
    with pytest.raises(TransactionReverted, match="WithdrawExpired"):
        party_a.withdraw(request, approval)


# --- hostile receivers and tokens --------------------------------------------------------------


@pytest.mark.parametrize("mode", [1, 2])  # 1 = re-enter settle, 2 = revert
def test_reentering_or_reverting_receiver_cannot_block_or_double_collect(chain, registry, alice, mode):
    receiver = chain.deploy("ChannelReentrantReceiver", registry.address)
    party_a, _ = Party.open(chain, registry, alice, receiver.address, challenge_period=PERIOD, deposit=ETHER)
    chain.transact(receiver.functions.deposit(party_a.params.as_tuple()), alice, value=ETHER // 2)
    chain.transact(receiver.functions.setMode(mode), alice)
    party_a.close()
    chain.advance_time(PERIOD)
    before = chain.balance(alice.address)
    receipt = party_a.settle()
    assert chain.balance(alice.address) - before == ETHER - receipt.gasUsed * receipt.effectiveGasPrice
    (deferred,) = chain.events(receipt, registry, "PayoutDeferred")
    assert (deferred.account, deferred.amount) == (receiver.address, ETHER // 2)
    assert chain.balance(registry.address) == registry.functions.pending(ZERO_ADDRESS, receiver.address).call()

    chain.transact(receiver.functions.setMode(3), alice)  # now re-enter claim while claiming
    chain.transact(receiver.functions.claim(), alice)
    assert chain.balance(receiver.address) == ETHER // 2
    assert receiver.functions.reentryFailed().call()
    assert chain.balance(registry.address) == 0
    with pytest.raises(TransactionReverted, match="NothingToClaim"):
        chain.transact(receiver.functions.claim(), alice)


def test_token_without_allowance_reverts_cleanly(chain, registry, alice, bob, no_bool_token):
    fn = registry.functions.open(bob.address, no_bool_token.address, PERIOD, ETHER)
    with pytest.raises(TransactionReverted, match="TokenTransferFailed"):
        chain.transact(fn, alice)


def test_open_rejects_bad_parameters(chain, registry, alice, bob):
    with pytest.raises(TransactionReverted, match="ChallengePeriodOutOfBounds"):
        chain.transact(registry.functions.open(bob.address, ZERO_ADDRESS, 1, 0), alice)
    with pytest.raises(TransactionReverted, match="InvalidPartner"):
        chain.transact(registry.functions.open(alice.address, ZERO_ADDRESS, PERIOD, 0), alice)
    with pytest.raises(TransactionReverted, match="WrongEthValue"):
        chain.transact(registry.functions.open(bob.address, ZERO_ADDRESS, PERIOD, 5), alice, value=4)
    with pytest.raises(TransactionReverted, match="TokenHasNoCode"):
        chain.transact(registry.functions.open(bob.address, bob.address, PERIOD, 0), alice)


# --- signatures ----------------------------------------------------------------------------------


def test_high_s_signature_is_rejected_on_chain_and_off_chain(chain, channel, pay):
    party_a, party_b = channel
    pay(party_b, party_a, 10**17)
    signed = party_a.latest
    malleable = replace(signed, sig_b=_high_s(signed.sig_b))
    digest = balance_proof_digest(party_a.domain, signed.proof)
    with pytest.raises(InvalidSignature, match="high s"):
        recover(digest, malleable.sig_b)
    with pytest.raises(TransactionReverted, match="InvalidSignatureS"):
        party_a.close(malleable)


def test_outsider_cannot_deposit_or_be_paid_a_withdrawal(chain, channel, mallory):
    party_a, party_b = channel
    with pytest.raises(TransactionReverted, match="NotParticipant"):
        chain.transact(party_a.registry.functions.deposit(party_a.params.as_tuple(), 5), mallory, value=5)
    from l2.designs.channels.messages import withdraw_digest

    expiry = chain.now() + 3600
    digest = withdraw_digest(party_a.domain, party_a.channel_id, mallory.address, 10**17, expiry)
    sig_a, sig_b = (Signer(bytes(acc.key)).sign(digest) for acc in (party_a.account, party_b.account))
    fn = party_a.registry.functions.withdraw(party_a.params.as_tuple(), mallory.address, 10**17, expiry, sig_a, sig_b)
    with pytest.raises(TransactionReverted, match="NotParticipant"):
        chain.transact(fn, mallory)


def test_withdraw_signed_by_one_side_only_reverts(chain, channel):
    party_a, party_b = channel
    request = party_a.request_withdraw(10**17, expiry=chain.now() + 3600)
    with pytest.raises(InvalidSignature, match="expected"):
        party_a.withdraw(request, {**request})  # "approval" carrying Alice's own signature
    self_signed = bytes.fromhex(request["signature"][2:])
    fn = party_a.registry.functions.withdraw(
        party_a.params.as_tuple(), party_a.address, 10**17, int(request["expiry"]), self_signed, self_signed
    )
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        chain.transact(fn, party_a.account)
