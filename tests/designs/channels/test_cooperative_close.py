"""A cooperative close is never replayable: it expires, a change of funding voids it, and whoever
signed one takes part in no payment while it can still be submitted."""

from __future__ import annotations

import pytest

from l2.designs.channels.errors import CooperativeCloseSigned, TotalsNotConserved
from l2.designs.channels.party import COOPERATIVE_CLOSE_LIFETIME, Party
from l2.designs.channels.rules import CooperativeClose, Funding
from l2.designs.channels.storage import ChannelStore
from l2.errors import TransactionReverted

ETHER = 10**18
TENTH = 10**17


def _signed_close(proposer: Party, countersigner: Party, **kwargs) -> tuple[dict, dict]:
    """A close both signed (proposal and countersignature) that nobody has submitted yet."""
    proposal = proposer.propose_cooperative_close(**kwargs)
    return proposal, countersigner.countersign_cooperative_close(proposal)


def _submit(chain, sender, party_a: Party, proposal: dict, countersigned: dict):
    """Submit a fully signed close as anyone holding it could (A proposed, B countersigned)."""
    close = CooperativeClose.from_json(proposal)
    sig_a, sig_b = (bytes.fromhex(m["signature"][2:]) for m in (proposal, countersigned))
    call = party_a.registry.functions.cooperativeClose(party_a.params.as_tuple(), close.as_tuple(), sig_a, sig_b)
    return chain.transact(call, sender)


def _withdraw(chain, withdrawer: Party, approver: Party, amount: int) -> None:
    request = withdrawer.request_withdraw(amount, expiry=chain.now() + 3600)
    withdrawer.withdraw(request, approver.approve_withdraw(request))


def test_signed_close_is_valid_until_expiry_on_unchanged_funding(chain, channel, pay, mallory):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * TENTH)
    proposal, countersigned = _signed_close(party_a, party_b)
    close = CooperativeClose.from_json(proposal)
    assert close.funding == Funding(ETHER, ETHER) and (close.balance_a, close.balance_b) == (7 * TENTH, 13 * TENTH)
    assert chain.now() < close.expiry <= chain.now() + COOPERATIVE_CLOSE_LIFETIME
    receipt = _submit(chain, mallory, party_a, proposal, countersigned)  # anyone may submit it
    (event,) = chain.events(receipt, party_a.registry, "CooperativelyClosed")
    assert (event.payoutA, event.payoutB) == (7 * TENTH, 13 * TENTH)
    assert chain.balance(party_a.registry.address) == 0
    with pytest.raises(TransactionReverted, match=r"ChannelNotOpen"):
        _submit(chain, mallory, party_a, proposal, countersigned)


def test_expired_cooperative_close_reverts(chain, channel, mallory):
    party_a, party_b = channel
    expiry = chain.now() + 50
    proposal, countersigned = _signed_close(party_a, party_b, expiry=expiry)
    chain.advance_time(51)
    with pytest.raises(TransactionReverted, match=r"^reverted: CooperativeCloseExpired\(") as exc:
        _submit(chain, mallory, party_a, proposal, countersigned)
    assert exc.value.error_name == "CooperativeCloseExpired"
    assert exc.value.error_args[0] == expiry and exc.value.error_args[1] > expiry
    with pytest.raises(TransactionReverted, match=r"^reverted: CooperativeCloseExpired\("):
        party_b.accept_cooperative_close(proposal)  # nor can a party still accept it


@pytest.mark.parametrize("change", ["deposit", "withdrawal", "deposit then equal withdrawal"])
def test_close_signed_before_a_funding_change_is_void_before_expiry(chain, channel, pay, mallory, change):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * TENTH)
    proposal, countersigned = _signed_close(party_a, party_b)
    if change in ("deposit", "deposit then equal withdrawal"):
        party_b.deposit(TENTH)
    if change in ("withdrawal", "deposit then equal withdrawal"):
        _withdraw(chain, party_b, party_a, TENTH)  # in the last case the channel's total is back where it was
    party_a.refresh_funding()
    assert chain.now() < CooperativeClose.from_json(proposal).expiry
    with pytest.raises(TransactionReverted, match=r"^reverted: CooperativeCloseFundingMismatch\(") as exc:
        _submit(chain, mallory, party_a, proposal, countersigned)
    onchain = party_a.onchain
    assert exc.value.error_args == (onchain.deposit_a, onchain.deposit_b, onchain.withdrawn_a, onchain.withdrawn_b)
    with pytest.raises(TotalsNotConserved, match="computed on funding"):
        party_b.accept_cooperative_close(proposal)  # the parties see it too, before spending gas
    # A fresh close on the new totals goes through and pays the latest state.
    balances = (party_a.balance(), party_b.balance())
    receipt = party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    (event,) = chain.events(receipt, party_a.registry, "CooperativelyClosed")
    assert (event.payoutA, event.payoutB) == balances
    assert chain.balance(party_a.registry.address) == 0


def test_party_refuses_payments_after_signing_a_close(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, TENTH)
    proposal = party_a.propose_cooperative_close()
    message = party_b.pay(1)  # Bob has signed no close: he may still offer a payment
    with pytest.raises(CooperativeCloseSigned, match="signed a cooperative close"):
        party_a.pay(1)
    latest = party_a.latest
    with pytest.raises(CooperativeCloseSigned, match="signed a cooperative close"):
        party_a.receive(message)  # Bob could be paid nothing: he may yet submit the close at the old balances
    assert party_a.latest == latest and party_a.pending is None and party_a.nonce == 1
    party_b.countersign_cooperative_close(proposal)
    with pytest.raises(CooperativeCloseSigned, match="signed a cooperative close"):
        party_b.pay(1)  # the countersigner refuses as well
    receipt = party_b.accept_cooperative_close(proposal)  # settled: nothing binds either side any more
    assert chain.events(receipt, party_a.registry, "CooperativelyClosed")


def test_refusal_ends_when_the_close_expires_or_is_voided(chain, channel, pay):
    party_a, party_b = channel
    _signed_close(party_a, party_b, expiry=chain.now() + 50)
    chain.advance_time(51)
    pay(party_a, party_b, TENTH)  # expired: both may pay again
    pay(party_b, party_a, TENTH)
    assert party_a.signed_close is None and party_b.signed_close is None

    _signed_close(party_a, party_b)
    party_b.deposit(TENTH)  # the close can never be submitted now
    pay(party_a, party_b, TENTH)
    assert party_a.signed_close is None


def test_refusal_survives_a_restart(chain, registry, alice, bob, open_channel, pay, tmp_path):
    party_a, party_b = open_channel(chain, registry, alice, bob, store_a=ChannelStore(tmp_path / "a.db"))
    pay(party_b, party_a, TENTH)
    party_a.propose_cooperative_close()
    restored = Party.restore(chain, registry, alice, ChannelStore(tmp_path / "a.db"))
    assert restored.signed_close == party_a.signed_close
    with pytest.raises(CooperativeCloseSigned):
        restored.receive(party_b.pay(1))
