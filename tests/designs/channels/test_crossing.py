"""Crossing payments: both sides propose the same nonce at once.

Off-chain, A's proposal wins: A refuses B's, B acknowledges A's and proposes its own payment
again on top, so the channel goes on and no payment is lost. On Layer 1, B has then signed two
states with one nonce, and A holds B's refused one; `updateState` lets B answer it with A's
proposal (same nonce, lower balance for A), never the other way round.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.channels import rules
from l2.designs.channels.errors import (
    ChannelBalanceTooLow,
    ConcurrentUpdate,
    CrossingRefused,
    NonceNotNext,
    UpdateInFlight,
)
from l2.designs.channels.messages import ChannelDomain, Signer, balance_proof_digest
from l2.designs.channels.party import Party, pay
from l2.designs.channels.rules import ZERO_ADDRESS, A, B, BalanceProof, ChannelParams, Funding
from l2.designs.channels.storage import ChannelStore, SignedProof
from l2.designs.channels.watcher import ChannelWatcher
from l2.errors import TransactionReverted

ETHER = 10**18
TENTH = 10**17
PERIOD = 100
KEY_A, KEY_B = bytes([1]) * 32, bytes([2]) * 32
PARAMS = ChannelParams(Account.from_key(KEY_A).address, Account.from_key(KEY_B).address, ZERO_ADDRESS, PERIOD, 1)
DOMAIN = ChannelDomain(31337, "0x" + "42" * 20)
FUNDING = Funding(deposit_a=1000, deposit_b=500)


@pytest.fixture
def parties():
    return Party(PARAMS, DOMAIN, KEY_A, funding=FUNDING), Party(PARAMS, DOMAIN, KEY_B, funding=FUNDING)


def _state(party: Party):
    return party.latest, party.pending, party.funding, party.verified


def _proof(message: dict) -> BalanceProof:
    return BalanceProof.from_json(message["proof"])


def _partner_signed(message: dict, proposer: Party) -> SignedProof:
    """`proposer`'s proposal as its partner would submit it: only the proposer's signature on it."""
    signature = bytes.fromhex(message["signature"][2:])
    return SignedProof(_proof(message), **{proposer._sig_field(proposer.side): signature})


def _payouts(chain, receipt, registry) -> tuple[int, int]:
    (settled,) = chain.events(receipt, registry, "ChannelSettled")
    return settled.payoutA, settled.payoutB


# --- off-chain: the crossing resolves and the channel keeps working ----------------------------


@pytest.mark.parametrize("a_hears_first", [True, False])
def test_crossing_payments_resolve_to_a_then_b_and_the_channel_goes_on(parties, a_hears_first):
    party_a, party_b = parties
    alice_pays, bob_pays = party_a.pay(10), party_b.pay(5)  # both sign nonce 1

    def a_refuses():
        before = _state(party_a)
        with pytest.raises(CrossingRefused, match="participant A's proposal wins") as refused:
            party_a.receive(bob_pays)
        assert _state(party_a) == before  # refused: nothing signed, nothing changed
        assert refused.value.proposal == alice_pays  # ours, to deliver again if it was lost

    if a_hears_first:
        a_refuses()
    ack = party_b.receive(alice_pays)  # B loses: acknowledges A's, proposes its own again on top
    if not a_hears_first:
        a_refuses()  # still pending at A: refused all the same
    assert party_b.latest.proof == _proof(alice_pays) and party_b.latest.complete
    again = party_b.resend_pending()
    assert _proof(again) == BalanceProof(PARAMS.channel_id, 2, transferred_a=10, transferred_b=5)
    party_a.receive_ack(ack)
    party_b.receive_ack(party_a.receive(again))

    assert party_a.latest == party_b.latest and party_a.nonce == 2 and party_a.pending is party_b.pending is None
    assert party_a.balance() == party_b.balance(A) == 1000 - 10 + 5
    assert party_b.balance() == party_a.balance(B) == 500 + 10 - 5
    pay(party_a, party_b, 7)  # and the channel goes on, both ways
    pay(party_b, party_a, 3)
    assert party_a.latest == party_b.latest and party_a.nonce == 4
    assert party_a.balance() + party_b.balance() == FUNDING.total


def test_refused_proposal_delivered_late_changes_nothing(parties):
    party_a, party_b = parties
    alice_pays, bob_pays = party_a.pay(10), party_b.pay(5)
    party_a.receive_ack(party_b.receive(alice_pays))
    before = _state(party_a)
    with pytest.raises(NonceNotNext, match="nonce 1, expected 2"):
        party_a.receive(bob_pays)  # superseded by B's proposal at nonce 2: A never signs it
    assert _state(party_a) == before


@pytest.mark.parametrize("payer_side", [A, B])
def test_pay_helper_resolves_a_crossing_in_either_direction(parties, payer_side):
    party_a, party_b = parties
    payer, receiver = (party_a, party_b) if payer_side == A else (party_b, party_a)
    receiver.pay(4)  # proposed, never delivered: the next payment crosses it
    pay(payer, receiver, 9)
    assert party_a.latest == party_b.latest and party_a.nonce == 2
    assert party_a.pending is party_b.pending is None
    assert payer.balance() == FUNDING.deposit(payer.side) - 9 + 4  # both payments made, once each


def test_ack_race_is_still_refused_until_the_ack_arrives(parties):
    """Not a crossing: B co-signed A's update and paid again; A must take the ack first."""
    party_a, party_b = parties
    ack = party_b.receive(party_a.pay(10))
    bob_pays = party_b.pay(5)
    with pytest.raises(ConcurrentUpdate, match="deliver that acknowledgement") as refused:
        party_a.receive(bob_pays)
    assert not isinstance(refused.value, CrossingRefused)
    party_a.receive_ack(ack)
    party_b.receive_ack(party_a.receive(bob_pays))
    assert party_a.latest == party_b.latest


# --- storage: the loser signed two states at one nonce; a restart never resurrects the refused one ---


def test_crossing_loser_restarts_with_the_winner_and_its_payment_again(
    chain, registry, alice, bob, open_channel, tmp_path
):
    party_a, party_b = open_channel(chain, registry, alice, bob, store_b=ChannelStore(tmp_path / "b.db"))
    alice_pays, bob_pays = party_a.pay(3 * TENTH), party_b.pay(2 * TENTH)
    stored = party_b.store.proof_at(party_b.channel_id, 1)
    assert stored.proof == _proof(bob_pays) and not stored.complete  # B's own proposal, on disk first
    ack = party_b.receive(alice_pays)

    restored = Party.restore(chain, registry, bob, ChannelStore(tmp_path / "b.db"))  # a crash right here
    assert restored.latest.proof == _proof(alice_pays) and restored.latest.complete
    assert restored.store.proof_at(restored.channel_id, 1).proof == _proof(alice_pays)  # P_B replaced
    assert restored.pending.proof == BalanceProof(party_b.channel_id, 2, 3 * TENTH, 2 * TENTH)
    assert restored.resend_pending() == party_b.resend_pending()  # the same signature, not a new one
    party_a.receive_ack(ack)
    restored.receive_ack(party_a.receive(restored.resend_pending()))
    assert restored.latest == party_a.latest and restored.balance() == ETHER + TENTH


# --- Layer 1: the refused proposal is worth nothing more to the winner ----------------------------


@pytest.mark.parametrize("b_payment_acked", [False, True])
def test_crossing_winner_closing_with_the_refused_proposal_is_answered_and_settles_as_agreed(
    chain, registry, channel, pay, b_payment_acked
):
    party_a, party_b = channel
    pay(party_a, party_b, TENTH)  # nonce 1: A has 0.9 ETH, B 1.1
    alice_pays, bob_pays = party_a.pay(3 * TENTH), party_b.pay(2 * TENTH)  # both nonce 2
    with pytest.raises(CrossingRefused):
        party_a.receive(bob_pays)  # ...but Alice keeps the bytes: Bob's signature on a state paying her 0.2
    ack = party_b.receive(alice_pays)
    if b_payment_acked:
        party_a.receive_ack(ack)
        party_b.receive_ack(party_a.receive(party_b.resend_pending()))  # nonce 3: both payments
    agreed = party_b.latest.proof

    party_a.close(_partner_signed(bob_pays, party_b))  # Alice cashes Bob's refused proposal: 1.1 ETH for her
    _, closing_balance_a = party_a.onchain_state()
    assert closing_balance_a == 11 * TENTH
    watcher = ChannelWatcher(party_b, settle=False)
    assert watcher.poll() == [("updated", agreed.nonce)]  # nonce 2 (the same: A's proposal) or nonce 3
    chain.advance_time(PERIOD)
    before_a, before_b = chain.balance(party_a.address), chain.balance(party_b.address)
    receipt = party_b.settle()
    expected = (6 * TENTH, 14 * TENTH) if not b_payment_acked else (8 * TENTH, 12 * TENTH)
    assert _payouts(chain, receipt, registry) == expected == rules.settlement(party_b.onchain, agreed)
    assert chain.balance(party_a.address) - before_a == expected[0]
    assert chain.balance(party_b.address) - before_b == expected[1] - receipt.gasUsed * receipt.effectiveGasPrice
    assert chain.balance(registry.address) == 0


def test_crossing_winner_cannot_use_the_equal_nonce_rule_the_other_way(chain, registry, channel, mallory):
    party_a, party_b = channel
    alice_pays, bob_pays = party_a.pay(3 * TENTH), party_b.pay(2 * TENTH)
    party_a.receive_ack(party_b.receive(alice_pays))  # Bob holds A's proposal, co-signed
    party_b.close()  # Bob closes on it: A has 0.7 ETH
    # Alice answers with Bob's refused proposal (nonce 1 too), which pays her 1.2: Bob signed it,
    # and she adds her own signature. Same nonce, higher balance for A: refused.
    refused = _partner_signed(bob_pays, party_b)
    own = party_a.signer.sign(balance_proof_digest(party_a.domain, refused.proof))
    forged = SignedProof(refused.proof, own, refused.sig_b)
    with pytest.raises(TransactionReverted, match=rf"NotCrossingWinner\(1, {7 * TENTH}, {12 * TENTH}\)"):
        party_a.update_state(forged)
    call = registry.functions.updateState(party_a.params.as_tuple(), forged.proof.as_tuple(), forged.sig_a,
                                          forged.sig_b)
    with pytest.raises(TransactionReverted, match="NotCrossingWinner"):
        chain.transact(call, mallory)  # a third party holding both signatures: the same
    assert ChannelWatcher(party_a, settle=False).poll() == []  # Alice's own watcher does not try it
    assert party_a.onchain_state()[1] == 7 * TENTH
    chain.advance_time(PERIOD)
    assert _payouts(chain, party_a.settle(), registry) == (7 * TENTH, 13 * TENTH)
    assert chain.balance(registry.address) == 0


def test_equal_nonce_answer_still_needs_the_closers_signature(chain, registry, channel, bob):
    """Bob cannot replace Alice's close with a same-nonce state Alice never signed."""
    party_a, party_b = channel
    pay(party_b, party_a, 2 * TENTH)  # nonce 1: A has 1.2 ETH
    party_a.close()
    lower_for_a = BalanceProof(party_a.channel_id, 1, transferred_a=5 * TENTH)  # "Alice paid me 0.5 instead"
    own = Signer(bytes(bob.key)).sign(balance_proof_digest(party_b.domain, lower_for_a))
    with pytest.raises(TransactionReverted, match="SignerMismatch"):
        party_b.update_state(SignedProof(lower_for_a, own, own))
    assert party_a.onchain_state()[1] == 12 * TENTH


# --- properties ---------------------------------------------------------------------------------


class Wire:
    """Two parties and their in-flight messages; each side's inbox keeps the order messages were sent."""

    def __init__(self, party_a: Party, party_b: Party):
        self.parties = {A: party_a, B: party_b}
        self.inbox: dict[str, list[dict]] = {A: [], B: []}
        self.paid = {A: 0, B: 0}  # every payment the application asked for and the payer signed
        self.held: dict[str, list[dict]] = {A: [], B: []}  # partner proposals received: a cheater's stash

    def pay(self, side: str, amount: int) -> None:
        try:
            message = self.parties[side].pay(amount)
        except (UpdateInFlight, ChannelBalanceTooLow):
            return  # the application is told at once; nothing was signed
        self.paid[side] += amount
        self.inbox[rules.other(side)].append(message)

    def deliver(self, side: str, index: int = 0) -> None:
        """Deliver one message to `side` (the oldest, or any: the network may reorder)."""
        inbox, party = self.inbox[side], self.parties[side]
        message = inbox.pop(index % len(inbox))
        out = self.inbox[rules.other(side)]
        if message["type"] == "BalanceProofAck":
            try:
                party.receive_ack(message)
            except NonceNotNext:
                pass  # a duplicate of an ack already taken
            return
        self.held[side].append(message)
        pending = party.pending
        try:
            out.append(party.receive(message))
        except CrossingRefused:
            return  # we are A and our proposal wins; it is on its way to B already
        except ConcurrentUpdate:
            inbox.append(message)  # the ack it follows is still in flight: deliver it again later
            return
        except NonceNotNext:
            return  # superseded (B's refused proposal) or a duplicate
        if party.pending is not None and party.pending is not pending:
            out.append(party.resend_pending())  # we lost a crossing: our payment again, on top

    def drain(self) -> None:
        for _ in range(10_000):
            sides = [s for s in (A, B) if self.inbox[s]]
            if not sides:
                resent = [s for s in (A, B) if self.parties[s].pending is not None]
                if not resent:
                    return
                for side in resent:  # a retransmission timer: the proposal may have been refused
                    self.inbox[rules.other(side)].append(self.parties[side].resend_pending())
                continue
            self.deliver(sides[0])
        raise AssertionError("messages still in flight after 10,000 deliveries")


step = st.one_of(
    st.tuples(st.just("pay"), st.sampled_from([A, B]), st.integers(1, 400)),
    st.tuples(st.just("deliver"), st.sampled_from([A, B]), st.integers(0, 5)),
)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, max_size=40))
def test_random_crossing_interleavings_lose_no_payment_and_conserve_funds(steps):
    wire = Wire(Party(PARAMS, DOMAIN, KEY_A, funding=FUNDING), Party(PARAMS, DOMAIN, KEY_B, funding=FUNDING))
    for kind, side, value in steps:
        if kind == "pay":
            wire.pay(side, value)
        elif wire.inbox[side]:
            wire.deliver(side, value)
        for party in wire.parties.values():
            assert party.balance(A) + party.balance(B) == FUNDING.total
            assert party.balance(A) >= 0 and party.balance(B) >= 0
    wire.drain()
    party_a, party_b = wire.parties[A], wire.parties[B]
    assert party_a.latest == party_b.latest and (party_a.latest.complete or party_a.nonce == 0)
    assert party_a.balance() == FUNDING.deposit_a - wire.paid[A] + wire.paid[B]  # every payment exactly once
    assert party_b.balance() == FUNDING.deposit_b - wire.paid[B] + wire.paid[A]


def _due(party: Party) -> int:
    """What an honest party must get at least: its latest state, with its own proposal counted as paid."""
    return rules.balance(party.onchain, (party.pending or party.latest).proof, party.side)


def _worth(party: Party, onchain: Funding, proof: BalanceProof) -> int:
    payout_a, payout_b = rules.settlement(onchain, proof)
    return payout_a if party.side == A else payout_b


def _best_for(cheater: Party, candidates, onchain: Funding) -> SignedProof:
    """The partner-signed state that pays `cheater` most."""
    return max(candidates, key=lambda signed: _worth(cheater, onchain, signed.proof))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(st.tuples(st.sampled_from([A, B]), st.integers(1, 200)), max_size=3),
    crossing=st.tuples(st.integers(1, 300), st.integers(1, 300)),
    deliveries=st.lists(st.sampled_from([A, B]), max_size=6),
    cheater_side=st.sampled_from([A, B]),
)
def test_random_crossings_then_a_cheating_close_settle_no_worse_than_agreed(
    chain, registry, alice, bob, open_channel, before, crossing, deliveries, cheater_side
):
    """Some payments, then a crossing delivered only in part; then one side closes with the
    partner-signed state that pays it most, refused proposals included, and answers back while it
    can gain; the other side's watcher answers. The honest side is paid at least its due."""
    snapshot = chain.snapshot()  # each example on a clean chain
    try:
        party_a, party_b = open_channel(chain, registry, alice, bob, deposit_a=1000, deposit_b=500)
        wire = Wire(party_a, party_b)
        for side, amount in before:
            wire.pay(side, amount)
            wire.drain()
        wire.pay(A, crossing[0])
        wire.pay(B, crossing[1])
        for side in deliveries:
            if wire.inbox[side]:
                wire.deliver(side)
        cheater, honest = wire.parties[cheater_side], wire.parties[rules.other(cheater_side)]
        due = _due(honest)
        # The cheater closes with whatever partner-signed state pays it most: its own co-signed
        # states, and every proposal it received, refused or not.
        stash = [cheater.best_signed_by_partner(),
                 *(_partner_signed(m, honest) for m in wire.held[cheater_side] if m["type"] == "BalanceProof")]
        onchain = cheater.onchain
        cheater.close(_best_for(cheater, stash, onchain))
        watcher = ChannelWatcher(honest, settle=False)
        for _ in range(4):  # then each side answers the other while it can gain
            watcher.poll()
            channel, closing_balance_a = cheater.onchain_state()
            closing = (channel[6], closing_balance_a)
            takes = [s for s in stash if s.proof.nonce > 0 and rules.answerable(onchain, *closing, s.proof)]
            if not takes:
                break
            counter = _best_for(cheater, takes, onchain)
            if _worth(cheater, onchain, counter.proof) <= (closing_balance_a if cheater.side == A
                                                           else onchain.total - closing_balance_a):
                break
            own = cheater.signer.sign(balance_proof_digest(cheater.domain, counter.proof))
            sigs = {"sig_a": counter.sig_a, "sig_b": counter.sig_b, cheater._sig_field(cheater.side): own}
            cheater.update_state(SignedProof(counter.proof, **sigs))
        chain.advance_time(PERIOD)
        payouts = _payouts(chain, honest.settle(), registry)
        assert sum(payouts) == onchain.total and chain.balance(registry.address) == 0
        assert payouts[0 if honest.side == A else 1] >= due
    finally:
        chain.revert(snapshot)
