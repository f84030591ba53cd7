"""Virtual channels through a hub: opened, used and closed with no Layer-1 transaction; and the disputes:
the hub goes silent, Bob goes silent, Alice closes on a stale state, the hub claims a guarantee twice,
Alice and Bob collude against the hub. Nobody loses what the latest states give them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import connect, deliver, setup
from l2.designs.statechannels.rules import FixedPart, VariablePart, guarantee_split, ledger_total
from l2.designs.statechannels.virtual import (
    Hub,
    LedgerWatcher,
    close_virtual,
    conclude_ledger,
    fund_virtual,
    guarantees_for,
    open_ledger,
)
from l2.designs.statechannels.watcher import StateChannelWatcher
from l2.errors import TransactionReverted

from .conftest import DURATION, ETHER

X = ETHER // 2  # what alice puts into the virtual channel
_nonces = itertools.count(10_000)


@pytest.fixture
def network(chain, contracts, alice, bob, hub_account):
    """Funded ledgers alice-hub and hub-bob (1 ETH each side), and a virtual channel alice->bob of X, funded."""
    adj, app = contracts["adjudicator"], contracts["ledger"]
    a_end, hub_a = open_ledger(chain, adj, app, alice, hub_account, (ETHER, ETHER), next(_nonces), DURATION)
    hub_b, b_end = open_ledger(chain, adj, app, hub_account, bob, (ETHER, ETHER), next(_nonces), DURATION)
    hub = Hub(hub_a, hub_b, payment_app=contracts["payment"].address, max_challenge_duration=DURATION)
    virtual = FixedPart((alice.address, bob.address), next(_nonces), contracts["payment"].address, DURATION)
    va = connect(chain, adj, virtual, "payment", alice)
    vb = connect(chain, adj, virtual, "payment", bob)
    with chain.record() as txs:
        setup([va, vb], (X, 0))
        fund_virtual(a_end, hub, b_end, va, vb)
    assert txs == []  # opening a virtual channel touches no Layer 1
    return a_end, hub, b_end, va, vb


def pay(va, vb, *amounts):
    for amount in amounts:
        deliver(va.pay(amount), vb)
        deliver(vb.acknowledge(), va)


def balances(chain, *accounts):
    return [chain.balance(a.address) for a in accounts]


def fees(txs, account):
    return sum(t.fee_wei for t in txs if t.sender == account.address)


def test_a_virtual_channel_opens_pays_and_closes_with_no_layer1_transaction(chain, network):
    a_end, hub, b_end, va, vb = network
    with chain.record() as txs:
        pay(va, vb, 10**17, 5 * 10**16)
        close_virtual(a_end, hub, b_end, va, vb)
    assert txs == []
    paid = 15 * 10**16
    assert a_end.latest.outcome == hub.with_alice.latest.outcome == (ETHER - paid, ETHER + paid)
    assert b_end.latest.outcome == hub.with_bob.latest.outcome == (ETHER - paid, ETHER + paid)
    assert ledger_total(a_end.latest) == ledger_total(b_end.latest) == 2 * ETHER  # nothing left guaranteed


def test_the_hub_goes_silent_and_everyone_still_gets_the_latest_states(chain, network, alice, bob, hub_account):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 2 * 10**17)
    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        # Alice and Bob end V between themselves; each then challenges its ledger with the silent hub.
        va.take_conclusion(vb.countersign_conclusion(va.propose_conclusion()))
        va.conclude(transfer=False)
        a_end.challenge()
        b_end.challenge()
        chain.advance_time(DURATION)
        for end in (a_end, b_end):
            end.transfer()
            end.claim(va, va.final[0])
    after = balances(chain, alice, bob, hub_account)
    assert after[0] == before[0] + ETHER - 2 * 10**17 - fees(txs, alice)
    assert after[1] == before[1] + ETHER + 2 * 10**17 - fees(txs, bob)
    assert after[2] == before[2] + 2 * ETHER  # the hub loses nothing: paid in L_A what it paid out in L_B
    assert a_end.held() == b_end.held() == 0


def test_bob_goes_silent_and_alice_and_the_hub_close_without_him(chain, network, alice, bob, hub_account):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 3 * 10**17)
    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        va.challenge()  # Bob is silent: V ends on Alice's newest state, which already pays him
        hub.with_alice.challenge()
        hub.with_bob.challenge()
        chain.advance_time(DURATION)
        final = va.onchain().recorded
        for end in (hub.with_alice, hub.with_bob):
            end.transfer()
            end.claim(va, final)
    after = balances(chain, alice, bob, hub_account)
    assert after[1] == before[1] + ETHER + 3 * 10**17  # silent, and paid all the same
    assert after[0] == before[0] + ETHER - 3 * 10**17 - fees(txs, alice)
    assert after[2] == before[2] + 2 * ETHER - fees(txs, hub_account)


def test_alice_closing_on_a_stale_state_is_answered_by_bobs_watcher(chain, contracts, network, alice, bob):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 10**17)
    stale, stale_state = va.proof(), va.supported()[0]
    pay(va, vb, 10**17, 10**17)
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(va.domain, va.channel_id, stale_state))
    chain.transact(contracts["adjudicator"].functions.challenge(va.fixed.as_tuple(), stale, m.sig_tuple(sig)), alice)
    watcher = StateChannelWatcher(vb, patience=0)
    watcher.step()
    assert watcher.actions == ["checkpoint"]
    vb.challenge()  # Bob now ends V on his newest state
    b_end.challenge()
    chain.advance_time(DURATION)
    before = chain.balance(bob.address)
    with chain.record() as txs:
        b_end.transfer()
        b_end.claim(vb, vb.onchain().recorded)
    assert chain.balance(bob.address) == before + ETHER + 3 * 10**17 - fees(txs, bob)


def test_a_guarantee_pays_once(chain, network, hub_account):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 10**17)
    va.challenge()
    hub.with_bob.challenge()
    chain.advance_time(DURATION)
    final = va.onchain().recorded
    hub.with_bob.transfer()
    hub.with_bob.claim(va, final)
    with pytest.raises(TransactionReverted, match="GuaranteeAlreadyClaimed"):
        hub.with_bob.claim(va, final)
    with pytest.raises(TransactionReverted, match="FingerprintMismatch"):  # the ledger before its payout
        hub.with_bob.claim(va, final, owed=hub.with_bob.latest.outcome)


def test_a_guarantee_waits_for_its_virtual_channel(chain, network):
    a_end, hub, b_end, va, vb = network
    a_end.challenge()
    chain.advance_time(DURATION)
    a_end.transfer()
    with pytest.raises(TransactionReverted, match="ChannelNotFinalized"):
        a_end.claim(va, va.latest)


def test_alice_and_bob_colluding_on_another_total_cannot_make_the_hub_pay(chain, network, alice, bob, hub_account):
    a_end, hub, b_end, va, vb = network
    # Both sign a final V state paying each the whole amount: the hub would pay Bob X and get nothing.
    greedy = VariablePart((X, X), b"", va.turn_num + 1, True)
    sigs = [m.sign_state(Signer(bytes(acct.key)), va.domain, va.channel_id, greedy) for acct in (alice, bob)]
    chain.transact(va.adjudicator.functions.conclude(va.fixed.as_tuple(), m.signed_tuple(greedy, sigs)), alice)
    hub.with_bob.challenge()
    chain.advance_time(DURATION)
    hub.with_bob.transfer()
    before = balances(chain, bob, hub_account)
    with chain.record() as txs:
        hub.with_bob.claim(va, greedy)
    g_b = guarantees_for(va.fixed, X)[1]
    assert guarantee_split(g_b, greedy.outcome) == (0, X)  # the funder (the hub) gets it all back
    assert balances(chain, bob, hub_account) == [before[0], before[1] + X - fees(txs, hub_account)]


def test_a_ledger_update_other_than_the_agreed_one_is_refused(network):
    a_end, hub, b_end, va, vb = network
    grab = VariablePart((0, ETHER), a_end.latest.app_data, a_end.latest.turn_num + 1)  # alice's share vanishes
    with pytest.raises(e.OutcomeTotalChanged):
        a_end.propose(grab)
    fair = VariablePart((ETHER - X, ETHER), a_end.latest.app_data, a_end.latest.turn_num + 1)
    skewed = VariablePart((ETHER - X - 1, ETHER + 1), a_end.latest.app_data, a_end.latest.turn_num + 1)
    with pytest.raises(e.LedgerUpdateRefused):
        hub.with_alice.countersign(a_end.propose(skewed), fair)


def test_after_a_virtual_channel_closes_each_ledger_concludes_in_one_transaction(chain, network, alice, bob):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 10**17)
    close_virtual(a_end, hub, b_end, va, vb)
    before = balances(chain, alice, bob)
    with chain.record() as txs:
        conclude_ledger(hub.with_alice, a_end)
        conclude_ledger(b_end, hub.with_bob)
    assert len(txs) == 2
    after = balances(chain, alice, bob)
    assert after[0] == before[0] + ETHER - 10**17
    assert after[1] == before[1] + ETHER + 10**17 - fees(txs, bob)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(to_alice=st.integers(0, X), extra=st.sampled_from([0, 0, 1, X]), beneficiary_is_bob=st.booleans())
def test_claimed_guarantees_pay_what_the_python_rule_says(chain, network, alice, bob, hub_account, to_alice,
                                                         extra, beneficiary_is_bob):
    """Any final V outcome (a right total, or one Alice and Bob inflated): `claimGuarantee` pays exactly
    `rules.guarantee_split`, and the ledger keeps nothing it owes."""
    a_end, hub, b_end, va, vb = network
    snapshot = chain.snapshot()
    try:
        final = VariablePart((to_alice, X - to_alice + extra), b"", va.turn_num + 1, True)
        sigs = [m.sign_state(Signer(bytes(acct.key)), va.domain, va.channel_id, final) for acct in (alice, bob)]
        chain.transact(va.adjudicator.functions.conclude(va.fixed.as_tuple(), m.signed_tuple(final, sigs)), alice)
        ledger, index = (hub.with_bob, 1) if beneficiary_is_bob else (hub.with_alice, 0)
        ledger.challenge()
        chain.advance_time(DURATION)
        ledger.transfer()
        guarantee = guarantees_for(va.fixed, X, a_end.fixed, b_end.fixed)[index]
        expected = guarantee_split(guarantee, final.outcome)
        beneficiary, other = (bob, hub_account) if beneficiary_is_bob else (alice, hub_account)
        before = balances(chain, beneficiary, other)
        with chain.record() as txs:
            ledger.claim(va, final)
        after = balances(chain, beneficiary, other)
        assert after[0] - before[0] == expected[0]
        assert after[1] - before[1] + fees(txs, hub_account) == expected[1]
        assert ledger.held() == 0
    finally:
        chain.revert(snapshot)


def test_the_hub_gets_its_guarantee_back_when_alice_and_bob_both_go_silent(chain, network, alice, hub_account):
    a_end, hub, b_end, va, vb = network
    before = balances(chain, alice, hub_account)
    with chain.record() as txs:
        hub.challenge_virtual(va.channel_id)  # not a participant of V, but its guarantor
        hub.with_alice.challenge()
        hub.with_bob.challenge()
        chain.advance_time(DURATION)
        final = va.onchain().recorded
        assert final.outcome == (X, 0)  # nobody answered: V ends as it was set up
        for end in (hub.with_alice, hub.with_bob):
            end.transfer()
            end.claim(va, final)
    after = balances(chain, alice, hub_account)
    assert after[0] == before[0] + ETHER  # alice's deposit, her guarantee included
    assert after[1] == before[1] + 2 * ETHER - fees(txs, hub_account)  # the hub's two deposits


def test_only_a_guarantor_may_challenge_a_channel_it_is_not_in(chain, contracts, network, mallory):
    a_end, hub, b_end, va, vb = network
    virtual, proof = hub.virtual[va.channel_id]
    adj = contracts["adjudicator"]
    signed = [m.signed_tuple(state, [s]) for state, s in proof]
    sig = Signer(bytes(mallory.key)).sign(m.challenge_digest(va.domain, va.channel_id, proof[-1][0]))
    guarantor = (hub.with_bob.fixed.as_tuple(), hub.with_bob._signed(), 0)
    with pytest.raises(TransactionReverted, match="ChallengerNotParticipant"):
        chain.transact(adj.functions.challengeAsGuarantor(virtual.as_tuple(), signed, guarantor, m.sig_tuple(sig)),
                       mallory)
    # A ledger state without a guarantee for V (its opening state) proves nothing.
    opening = VariablePart((ETHER, ETHER), b"", 0)
    opening_sigs = [m.sign_state(Signer(bytes(acct.key)), va.domain, hub.with_bob.channel_id, opening)
                    for acct in (chain.accounts[4], chain.accounts[2])]
    hub_sig = Signer(bytes(chain.accounts[4].key)).sign(m.challenge_digest(va.domain, va.channel_id, proof[-1][0]))
    with pytest.raises(TransactionReverted, match="InvalidGuarantee"):
        chain.transact(adj.functions.challengeAsGuarantor(
            virtual.as_tuple(), signed, (hub.with_bob.fixed.as_tuple(), m.signed_tuple(opening, opening_sigs), 0),
            m.sig_tuple(hub_sig)), chain.accounts[4])


def test_ledger_watchers_answer_a_stale_ledger_close_and_collect_everything(chain, network, alice, bob,
                                                                           hub_account):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 2 * 10**17)
    stale = (hub.with_bob.latest, dict(hub.with_bob.signatures))  # L_B still guaranteeing V
    close_virtual(a_end, hub, b_end, va, vb)  # released: bob's share of L_B is now his
    # The hub closes L_B on the stale state, where bob's money sits in a guarantee for a V never on chain.
    hub.with_bob.latest, hub.with_bob.signatures = stale
    hub.with_bob.challenge()
    bobs = LedgerWatcher(b_end, {va.channel_id: vb}, name="bob's ledger watcher")
    bobs.step()
    assert bobs.actions == ["checkpoint"]
    b_end.challenge()  # bob leaves with the newest state
    chain.advance_time(DURATION)
    before = chain.balance(bob.address)
    with chain.record() as txs:
        bobs.step()
    assert bobs.actions == ["checkpoint", "transfer"]
    assert chain.balance(bob.address) == before + ETHER + 2 * 10**17 - fees(txs, bob)


def test_a_ledger_watcher_claims_the_guarantee_once_the_virtual_channel_is_final(chain, network, alice):
    a_end, hub, b_end, va, vb = network
    pay(va, vb, 10**17)
    va.challenge()  # hub silent, bob silent: alice ends V and her ledger
    a_end.challenge()
    chain.advance_time(DURATION)
    watcher = LedgerWatcher(a_end, {va.channel_id: va})
    before = chain.balance(alice.address)
    with chain.record() as txs:
        watcher.step()
    assert watcher.actions == ["transfer", "claim"] and watcher.step() == []
    assert chain.balance(alice.address) == before + ETHER - 10**17 - fees(txs, alice)


def test_a_ledger_end_restarts_from_its_database(chain, contracts, alice, hub_account, tmp_path):
    from l2.designs.statechannels.rules import Guarantee, fund_guarantee
    from l2.designs.statechannels.storage import StateStore
    from l2.designs.statechannels.virtual import Ledger

    fixed = FixedPart((alice.address, hub_account.address), next(_nonces), contracts["ledger"].address, DURATION)
    adj = contracts["adjudicator"]
    mine = Ledger(fixed, chain, adj, alice, store=StateStore(tmp_path / "ledger.db"))
    theirs = Ledger(fixed, chain, adj, hub_account)
    opening = VariablePart((ETHER, ETHER), b"", 0)
    mine.take(theirs.countersign(mine.propose(opening), opening))
    funded = fund_guarantee(opening, Guarantee(b"\x01" * 32, X, 0, 0, 0))
    proposal = mine.propose(funded)  # killed before the hub's signature came back
    mine.store.close()
    restored = Ledger.restore(StateStore(tmp_path / "ledger.db"), chain, adj, alice)
    assert restored.latest == opening and restored.signatures == mine.signatures
    assert restored.proposal is not None and restored.proposal[0] == funded
    restored.take(theirs.countersign(proposal, funded))  # the answer arrives after the restart
    assert restored.latest == funded
    restored.store.close()
    with pytest.raises(e.StateChannelStorageError):
        Ledger.restore(StateStore(tmp_path / "ledger.db"), chain, adj, hub_account)
    assert Ledger.restore(StateStore(tmp_path / "ledger.db"), chain, adj, alice).latest == funded  # untouched


def test_no_payment_in_a_virtual_channel_before_both_guarantees_are_signed(chain, contracts, alice, bob):
    virtual = FixedPart((alice.address, bob.address), next(_nonces), contracts["payment"].address, DURATION)
    va = connect(chain, contracts["adjudicator"], virtual, "payment", alice)
    vb = connect(chain, contracts["adjudicator"], virtual, "payment", bob)
    setup([va, vb], (X, 0))
    with pytest.raises(e.NotFunded):  # nothing on Layer 1 and no guarantee yet: the payment would be worthless
        va.pay(10**17)
