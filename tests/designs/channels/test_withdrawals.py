"""Withdrawals without closing: counted while they can still be paid, from Layer 1 once paid, never twice,
and not at all once expired unsubmitted (also after a restart from disk)."""

from __future__ import annotations

import pytest

from l2.designs.channels import rules
from l2.designs.channels.errors import Overspend
from l2.designs.channels.messages import balance_proof_digest
from l2.designs.channels.party import Party
from l2.designs.channels.rules import A, AgreedWithdraw, B, Funding, withdrawals_in_flight
from l2.designs.channels.storage import ChannelStore

ETHER = 10**18
HALF = 5 * 10**17


def _agree(chain, withdrawer: Party, approver: Party, amount: int, lifetime: int = 10):
    request = withdrawer.request_withdraw(amount, expiry=chain.now() + lifetime)
    return request, approver.approve_withdraw(request)


def _cooperative_payouts(chain, proposer: Party, acceptor: Party) -> tuple[int, int]:
    receipt = acceptor.accept_cooperative_close(proposer.propose_cooperative_close())
    (closed,) = chain.events(receipt, acceptor.registry, "CooperativelyClosed")
    assert chain.balance(acceptor.registry.address) == 0
    return closed.payoutA, closed.payoutB


def test_in_flight_rule_drops_paid_and_expired_withdrawals_only():
    onchain = Funding(deposit_a=100, deposit_b=100, withdrawn_a=30)
    paid, live, expired = AgreedWithdraw(A, 30, 50), AgreedWithdraw(A, 60, 50), AgreedWithdraw(B, 20, 40)
    assert withdrawals_in_flight(onchain, (paid, live, expired), now=45) == (live,)
    assert withdrawals_in_flight(onchain, (paid, live, expired), now=50) == (live,)  # valid through its expiry
    assert withdrawals_in_flight(onchain, (paid, live, expired), now=None) == (live, expired)  # no clock: keep


def test_expired_unsubmitted_withdrawal_is_no_longer_counted(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * 10**17)
    _agree(chain, party_b, party_a, HALF)  # Bob never submits it
    # While it can still be paid, Alice counts it: Bob cannot also spend that money.
    assert party_a.balance(B) == ETHER + 3 * 10**17 - HALF
    overspend = rules.next_payment(party_b.onchain, party_b.latest.proof, B, ETHER)  # as if Bob ignored it
    signature = party_b.signer.sign(balance_proof_digest(party_b.domain, overspend))
    before = (party_a.latest, party_a.pending, party_a.funding)
    with pytest.raises(Overspend):
        party_a.receive({"type": "BalanceProof", "proof": overspend.to_json(), "signature": "0x" + signature.hex()})
    assert (party_a.latest, party_a.pending, party_a.funding) == before

    chain.advance_time(20)  # past its expiry: Layer 1 can never pay it now
    pay(party_b, party_a, 12 * 10**17)  # more than Bob had with the withdrawal counted
    assert party_a.funding == party_b.funding == party_a.onchain
    assert party_a.withdrawals == party_b.withdrawals == ()
    assert _cooperative_payouts(chain, party_a, party_b) == (ETHER - 3 * 10**17 + 12 * 10**17, 10**17)


def test_expired_withdrawal_does_not_spoil_a_cooperative_close(chain, channel, pay):
    party_a, party_b = channel
    _agree(chain, party_a, party_b, HALF)
    chain.advance_time(20)
    pay(party_a, party_b, 10**17)  # small enough that nobody needs to re-read Layer 1
    assert _cooperative_payouts(chain, party_b, party_a) == (ETHER - 10**17, ETHER + 10**17)


def test_submitted_withdrawal_is_counted_exactly_once(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * 10**17)
    party_b.withdraw(*_agree(chain, party_b, party_a, HALF))
    party_b.withdraw(*_agree(chain, party_b, party_a, 2 * 10**17))  # running total 0.7 ETH, not 0.5 + 0.7
    party_a.refresh_funding()
    assert party_a.funding == party_b.funding == Funding(ETHER, ETHER, 0, 7 * 10**17)
    assert party_a.withdrawals == party_b.withdrawals == ()
    assert chain.balance(party_a.registry.address) == party_a.funding.total

    chain.advance_time(20)  # the paid withdrawals' expiry passing changes nothing: Layer 1 counts them
    party_a.refresh_funding()
    party_b.refresh_funding()
    assert party_a.funding.withdrawn_b == party_b.funding.withdrawn_b == 7 * 10**17
    assert party_b.balance() == ETHER + 3 * 10**17 - 7 * 10**17
    assert _cooperative_payouts(chain, party_a, party_b) == (ETHER - 3 * 10**17, 6 * 10**17)


def test_restart_keeps_a_live_withdrawal_and_never_resurrects_an_expired_one(
    chain, registry, alice, bob, open_channel, pay, tmp_path
):
    store_a, store_b = ChannelStore(tmp_path / "a.db"), ChannelStore(tmp_path / "b.db")
    party_a, party_b = open_channel(chain, registry, alice, bob, store_a=store_a, store_b=store_b)
    _agree(chain, party_b, party_a, HALF)

    restored_a = Party.restore(chain, registry, alice, ChannelStore(tmp_path / "a.db"))
    assert restored_a.withdrawals == party_a.withdrawals and restored_a.balance(B) == HALF  # still payable

    chain.advance_time(20)
    restored_a = Party.restore(chain, registry, alice, ChannelStore(tmp_path / "a.db"))
    restored_b = Party.restore(chain, registry, bob, ChannelStore(tmp_path / "b.db"))
    for party in (restored_a, restored_b):
        assert party.withdrawals == () and party.funding == Funding(ETHER, ETHER)
        assert party.store.withdraws(party.channel_id) == []  # forgotten on disk too
    restored_b.receive_ack(restored_a.receive(restored_b.pay(ETHER)))
    assert _cooperative_payouts(chain, restored_b, restored_a) == (2 * ETHER, 0)
