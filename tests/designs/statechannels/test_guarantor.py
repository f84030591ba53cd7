"""The hub's guarantor watcher gets the hub's guarantees back from Layer-1 data alone: it challenges a virtual
channel V only when the hub wants out and V's participants stay silent, learns whatever newer V state Alice
or Bob answered with (from the Adjudicator's events and the input of the transactions behind them), claims
both guarantees by the outcome Layer 1 holds, and says so when Layer 1 does not give what it needs. Forged
states (another channel's, or signed by the wrong key), offered to the hub or read from Layer 1, are
refused. A hub rebuilt from its files finishes the job."""

from __future__ import annotations

import pytest

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.guarantor import GuarantorWatcher
from l2.designs.statechannels.party import Party, deliver
from l2.designs.statechannels.rules import (
    FinalRecord,
    LedgerStake,
    SubmitChallenge,
    SubmitCheckpoint,
    SubmitClaim,
    SubmitConclude,
    VariablePart,
    decide_guarantor,
    release_guarantee,
)
from l2.designs.statechannels.virtual import fund_virtual
from l2.designs.statechannels.watcher import StateChannelWatcher

from .conftest import DURATION, ETHER
from .test_hub_recovery import PAID, X, balances, hub_ledgers, rebuilt_hub, setup_proof, virtual_channel

PATIENCE = 30


def funded(chain, contracts, alice, bob, hub_account, tmp_path, payments: int = 1):
    """Ledgers alice-hub and hub-bob (the hub's ends on disk) and V = alice -> bob of X, funded, with
    `payments` payments of PAID each made and acknowledged."""
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)
    fund_virtual(a_end, hub, b_end, va, vb)
    for _ in range(payments):
        deliver(va.pay(PAID), vb)
        deliver(vb.acknowledge(), va)
    return a_end, hub, b_end, va, vb


def moves(party: Party, proof=None) -> list[dict]:
    """A party's newest supported state as wire moves, as it would show it to the hub."""
    proof = party.supported()[1] if proof is None else proof
    return [m.encode_move(party.channel_id, state, sig) for state, sig in proof]


def fees(txs, account) -> int:
    return sum(t.fee_wei for t in txs if t.sender == account.address)


def assert_paid_by(chain, txs, before, alice, bob, hub_account, hub, outcome):
    """Every wei both ledgers held is out, split by V's final `outcome`: alice leaves with her 1 ETH less
    what V gives bob, bob with his 1 ETH and that, the hub with its 2 ETH (it got back from L_A what it paid
    bob from L_B)."""
    to_alice, to_bob = outcome
    gained = [after - was for after, was in zip(balances(chain, alice, bob, hub_account), before, strict=True)]
    assert gained == [ETHER - X + to_alice - fees(txs, alice), ETHER + to_bob - fees(txs, bob),
                      2 * ETHER - fees(txs, hub_account)]
    assert hub.with_alice.held() == hub.with_bob.held() == 0  # 4 ETH in, 4 ETH out


@pytest.mark.parametrize("answer", ["checkpoint", "respond", "challenge", "conclude"])
def test_alice_answers_the_hubs_challenge_with_a_newer_state_and_the_hub_claims_by_it(
        chain, contracts, alice, bob, hub_account, tmp_path, answer):
    # respond: V's newest state is its setup, alice answers the hub's challenge with her payment move.
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path,
                                       payments=0 if answer == "respond" else 1)
    watcher = GuarantorWatcher(hub, patience=PATIENCE)
    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        hub.leave(va.channel_id, chain.now())
        assert watcher.step() == []  # V's participants may only be busy: the hub gives them its patience
        chain.advance_time(PATIENCE)
        watcher.step()
        assert watcher.actions == ["challenge"] and va.onchain().recorded == VariablePart((X, 0), b"", 1)
        if answer == "checkpoint":
            alices = StateChannelWatcher(va)
            alices.step()
            assert alices.actions == ["checkpoint"]
        elif answer == "respond":
            deliver(va.pay(PAID), vb)
            va.respond(VariablePart((X, 0), b"", 1), va.latest)
        elif answer == "challenge":
            va.challenge()  # her newest, over the hub's
        else:
            va.take_conclusion(vb.countersign_conclusion(va.propose_conclusion()))
            va.conclude(transfer=False)
        assert watcher.step() == []  # answered: nothing the hub could add
        hub.with_alice.challenge()  # the hub closes its ledgers, each still guaranteeing V
        hub.with_bob.challenge()
        chain.advance_time(PATIENCE)
        watcher.step()  # V open again at alice's state and silent since: challenged again, with her state
        again = ["challenge"] if answer in ("checkpoint", "respond") else []
        assert watcher.actions == ["challenge", *again]
        if again:
            assert va.onchain().recorded == va.latest  # rebuilt from the input of her transaction
        chain.advance_time(DURATION)
        events = watcher.step()
        assert watcher.actions == ["challenge", *again, "claim", "claim"]
        assert all(f"final outcome {[X - PAID, PAID]}" in str(ev) for ev in events)
        assert watcher.step() == []  # both paid: nothing of the hub's depends on V any more
        hub.with_alice.transfer()
        hub.with_bob.transfer()
    assert_paid_by(chain, txs, before, alice, bob, hub_account, hub, (X - PAID, PAID))


@pytest.mark.parametrize("restart_after", ["its challenge", "alice's checkpoint", "V is final"])
def test_the_guarantor_watcher_of_a_hub_rebuilt_from_its_files_finishes_the_job(
        chain, contracts, alice, bob, hub_account, tmp_path, restart_after):
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path, payments=2)

    def restart(hub):
        hub.with_alice.store.close()
        hub.with_bob.store.close()
        return rebuilt_hub(chain, contracts, hub_account, tmp_path)  # its two files are all that is left

    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        hub.leave(va.channel_id, chain.now())
        GuarantorWatcher(hub, patience=0).step()
        if restart_after == "its challenge":
            hub = restart(hub)
        StateChannelWatcher(va).step()  # alice answers with her newest state
        if restart_after == "alice's checkpoint":
            hub = restart(hub)
        watcher = GuarantorWatcher(hub, patience=0)
        watcher.step()  # it still wants out (asked before the crash): V challenged with alice's state
        assert watcher.actions == ["challenge"] and va.onchain().recorded == va.latest
        hub.with_alice.challenge()
        hub.with_bob.challenge()
        chain.advance_time(DURATION)
        if restart_after == "V is final":
            hub = restart(hub)
            watcher = GuarantorWatcher(hub, patience=0)
        watcher.step()
        assert watcher.actions[-2:] == ["claim", "claim"]
        hub.with_alice.transfer()
        hub.with_bob.transfer()
    assert_paid_by(chain, txs, before, alice, bob, hub_account, hub, (X - 2 * PAID, 2 * PAID))
    hub.with_alice.store.close()
    hub.with_bob.store.close()


@pytest.mark.parametrize("forgery", ["a move of another channel", "another channel's states under this channel's id",
                                     "the payee's move signed by the wrong key", "a final state only alice signed"])
def test_a_forged_state_offered_to_the_hub_is_refused(chain, contracts, alice, bob, mallory, hub_account, tmp_path,
                                                      forgery):
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    other, _ = virtual_channel(chain, contracts, alice, bob)  # same participants and amount, another nonce
    offer, refusal = moves(vb), e.NotMover
    if forgery == "a move of another channel":
        offer, refusal = moves(other), e.WrongChannel
    elif forgery == "another channel's states under this channel's id":
        offer = moves(va, setup_proof(other))
    elif forgery == "the payee's move signed by the wrong key":
        ack = vb.latest
        offer[-1] = m.encode_move(va.channel_id, ack, m.sign_state(Signer(bytes(mallory.key)), va.domain,
                                                                    va.channel_id, ack))
    else:
        final = VariablePart(va.latest.outcome, b"", va.turn_num + 1, True)
        sig = m.sign_state(Signer(bytes(alice.key)), va.domain, va.channel_id, final)
        offer, refusal = [m.encode_move(va.channel_id, final, sig)], e.NotSignedByAll
    with pytest.raises(refusal):
        hub.offer_virtual_state(va.channel_id, offer)
    assert hub.proofs == {} and hub.with_bob.store.load_virtual_proofs() == {}
    assert rebuilt_hub(chain, contracts, hub_account, tmp_path).proofs == {}
    # Bob's own newest state is taken, stored, and is what the hub challenges with from then on.
    assert hub.offer_virtual_state(va.channel_id, moves(vb)) == vb.latest
    assert rebuilt_hub(chain, contracts, hub_account, tmp_path).proofs == {va.channel_id: hub.proofs[va.channel_id]}
    hub.leave(va.channel_id, chain.now())
    GuarantorWatcher(hub, patience=0).step()
    assert va.onchain().recorded == vb.latest


@pytest.mark.parametrize("forgery", ["another channel's checkpoint", "the payee's signature by the wrong key"])
def test_a_forged_transaction_input_read_from_layer1_is_refused(chain, contracts, alice, bob, mallory, hub_account,
                                                                tmp_path, monkeypatch, forgery):
    """A node lying about the input of alice's checkpoint: the hub challenges nothing with it, says why, and
    acts on the true input once the node stops lying."""
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    adjudicator = contracts["adjudicator"]
    hub.leave(va.channel_id, chain.now())
    watcher = GuarantorWatcher(hub, patience=0)
    watcher.step()
    alices = StateChannelWatcher(va)
    alices.step()
    assert alices.actions == ["checkpoint"]
    (checkpointed,) = adjudicator.events.Checkpointed().get_logs(from_block=0,
                                                                 argument_filters={"channelId": va.channel_id})
    if forgery == "another channel's checkpoint":  # a real proof of the same turn, of another channel
        other_a, other_b = virtual_channel(chain, contracts, alice, bob)
        other_a.funded_by_guarantees = other_b.funded_by_guarantees = True
        deliver(other_a.pay(PAID), other_b)
        deliver(other_b.acknowledge(), other_a)
        fixed, proof = other_b.fixed, other_b.proof()
    else:
        ack = vb.latest
        forged_ack = m.sign_state(Signer(bytes(mallory.key)), va.domain, va.channel_id, ack)
        fixed, proof = va.fixed, [va.proof()[0], m.signed_tuple(ack, [forged_ack])]
    forged = bytes.fromhex(adjudicator.encode_abi("checkpoint", args=[fixed.as_tuple(), proof])[2:])
    true_read = watcher.reader.transaction

    def lying(tx_hash):
        return (adjudicator.address, forged) if tx_hash == checkpointed.transactionHash else true_read(tx_hash)

    monkeypatch.setattr(watcher.reader, "transaction", lying)
    with pytest.raises(e.RecordUnavailable, match="record is at turn 3"):
        watcher.step()
    assert watcher.actions == ["challenge"] and va.onchain().finalizes_at == 0  # nothing sent on a forged read
    monkeypatch.setattr(watcher.reader, "transaction", true_read)
    watcher.step()
    assert watcher.actions == ["challenge", "challenge"] and va.onchain().recorded == va.latest


def test_a_checkpoint_sent_through_another_contract_is_a_clear_error_until_a_newer_state_is_shown(
        chain, contracts, alice, bob, hub_account, tmp_path):
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    adjudicator = contracts["adjudicator"]
    hub.leave(va.channel_id, chain.now())
    watcher = GuarantorWatcher(hub, patience=0)
    watcher.step()
    forwarder = chain.deploy("BatchForwarder")
    call = bytes.fromhex(adjudicator.encode_abi("checkpoint", args=[va.fixed.as_tuple(), va.proof()])[2:])
    chain.transact(forwarder.functions.forward(adjudicator.address, call), alice)  # the proof is not in the input
    assert va.onchain().turn_num_record == 3 and va.onchain().finalizes_at == 0
    with pytest.raises(e.RecordUnavailable, match="did not call the Adjudicator directly"):
        watcher.step()
    with pytest.raises(e.RecordUnavailable, match=va.channel_id.hex()):  # every round, not once
        watcher.step()
    hub.offer_virtual_state(va.channel_id, moves(vb))  # bob shows the hub his newest state
    watcher.step()
    assert watcher.actions == ["challenge", "challenge"] and va.onchain().recorded == vb.latest


def test_a_conclusion_sent_through_another_contract_still_pays_the_hub_by_its_outcome(
        chain, contracts, alice, bob, hub_account, tmp_path):
    """The `Concluded` event carries the final state's hash and outcome: the hub claims by them even when no
    transaction's input holds the final state."""
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    adjudicator = contracts["adjudicator"]
    watcher = GuarantorWatcher(hub, patience=PATIENCE)
    forwarder = chain.deploy("BatchForwarder")
    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        va.take_conclusion(vb.countersign_conclusion(va.propose_conclusion()))
        final, sigs = va.final
        call = adjudicator.encode_abi("conclude", args=[va.fixed.as_tuple(), m.signed_tuple(final, [sigs[0], sigs[1]])])
        chain.transact(forwarder.functions.forward(adjudicator.address, bytes.fromhex(call[2:])), alice)
        hub.with_alice.challenge()
        hub.with_bob.challenge()
        chain.advance_time(DURATION)
        watcher.step()
        assert watcher.actions == ["claim", "claim"]
        hub.with_alice.transfer()
        hub.with_bob.transfer()
    assert_paid_by(chain, txs, before, alice, bob, hub_account, hub, (X - PAID, PAID))


def test_the_guarantor_waits_until_the_hub_wants_out_and_answers_only_what_it_can_prove(
        chain, contracts, alice, bob, hub_account, tmp_path):
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    stale, stale_state = va.proof(), va.supported()[0]  # turn 3
    deliver(va.pay(PAID), vb)
    deliver(vb.acknowledge(), va)  # turn 5
    watcher = GuarantorWatcher(hub, patience=PATIENCE)
    chain.advance_time(10 * PATIENCE)
    assert watcher.step() == []  # silent for long, but the hub does not want out
    sig = Signer(bytes(alice.key)).sign(m.challenge_digest(va.domain, va.channel_id, stale_state))
    chain.transact(contracts["adjudicator"].functions.challenge(va.fixed.as_tuple(), stale, m.sig_tuple(sig)), alice)
    assert watcher.step() == []  # a stale challenge, but the hub holds nothing newer: no move of its own in V
    hub.offer_virtual_state(va.channel_id, moves(vb))  # bob shows it his newest
    watcher.step()
    assert watcher.actions == ["checkpoint"]
    record = va.onchain()
    assert (record.turn_num_record, record.finalizes_at) == (5, 0)


def test_a_release_bob_never_signs_is_finished_on_layer1_with_the_final_state_the_hub_checked(
        chain, contracts, alice, bob, hub_account, tmp_path):
    a_end, hub, b_end, va, vb = funded(chain, contracts, alice, bob, hub_account, tmp_path)
    va.take_conclusion(vb.countersign_conclusion(va.propose_conclusion()))
    final, sigs = va.final
    hub.release(va.channel_id, final, sigs, chain.now())  # checked and marked released, with the final state
    expected_a = release_guarantee(a_end.latest, va.channel_id, final.outcome)
    a_end.take(hub.with_alice.countersign(a_end.propose(expected_a), expected_a))
    hub.with_bob.propose(release_guarantee(hub.with_bob.latest, va.channel_id, final.outcome))  # bob never answers
    hub = rebuilt_hub(chain, contracts, hub_account, tmp_path)
    watcher = GuarantorWatcher(hub, patience=PATIENCE)
    assert watcher.step() == []  # L_B still guarantees V, but the hub does not want out yet
    before = balances(chain, bob, hub_account)
    with chain.record() as txs:
        hub.with_bob.challenge()  # the hub closes L_B on the newest state bob signed, still guaranteeing V
        watcher.step()
        assert watcher.actions == ["conclude"]  # final by both participants' consent: no patience needed
        chain.advance_time(DURATION)
        watcher.step()
        assert watcher.actions == ["conclude", "claim"]
        hub.with_bob.transfer()
    gained = [after - was for after, was in zip(balances(chain, bob, hub_account), before, strict=True)]
    assert gained == [ETHER + PAID, ETHER - PAID - fees(txs, hub_account)]  # L_B's share, and X - PAID of V's
    assert hub.with_bob.held() == 0


def test_decide_guarantor_alone():
    open_, final_ = LedgerStake("open", None, 0, False), LedgerStake("final", 50, 0, False)
    closing = LedgerStake("challenged", 50, 0, False)
    setup, newer = VariablePart((5, 0), b"", 1), VariablePart((3, 2), b"", 3)
    done = FinalRecord(b"\1" * 32, (3, 2))
    kw = {"final_record": None, "newest": setup, "final": None, "leaving_since": None, "last_activity": None,
          "patience": 30}
    assert decide_guarantor(0, 0, (open_, open_), 1000, **kw) == []  # the hub does not want out
    assert decide_guarantor(0, 0, (open_, closing), 79, **kw) == []  # wants out since 50: waits until 80
    assert decide_guarantor(0, 0, (open_, closing), 80, **kw) == [SubmitChallenge(setup)]
    assert decide_guarantor(0, 0, (open_, open_), 80, **{**kw, "leaving_since": 50}) == [SubmitChallenge(setup)]
    assert decide_guarantor(1, 0, (open_, closing), 80, **{**kw, "last_activity": 60}) == []  # V spoke at 60
    with pytest.raises(e.RecordUnavailable, match="turn 3"):  # V's record is past every state the hub can prove
        decide_guarantor(3, 0, (open_, closing), 80, **kw)
    final_state = VariablePart((3, 2), b"", 4, True)
    assert decide_guarantor(3, 0, (open_, closing), 51, **{**kw, "final": final_state}) == [
        SubmitConclude(final_state)]
    # challenged: the hub has no move in V; it checkpoints only a newer state it can prove
    assert decide_guarantor(1, 200, (open_, closing), 80, **kw) == []
    assert decide_guarantor(1, 200, (open_, closing), 80, **{**kw, "newest": newer}) == [SubmitCheckpoint(newer)]
    assert decide_guarantor(3, 200, (open_, closing), 80, **{**kw, "newest": newer}) == []
    # final: each final ledger's guarantee, by V's final record; none that is paid already or not final yet
    paid = LedgerStake("final", 50, 0, True)
    assert decide_guarantor(3, 200, (final_, closing), 200, **{**kw, "final_record": done}) == [
        SubmitClaim(0, 0, done)]
    assert decide_guarantor(3, 200, (paid, final_), 200, **{**kw, "final_record": done}) == [SubmitClaim(1, 0, done)]
    with pytest.raises(e.RecordUnavailable):
        decide_guarantor(3, 200, (final_, final_), 200, **kw)
    nothing = LedgerStake("final", 50, None, False)  # released in both: nothing at stake, whatever V does
    assert decide_guarantor(0, 0, (nothing, paid), 1000, **{**kw, "leaving_since": 0}) == []
