"""Nothing happens off-chain on a channel that is closing, closed or settled on Layer 1.

A party learns it from its own close, settle or cooperative close at once, from its watcher,
and, before every counter-signature or Layer-1 transaction, from Layer 1 itself (read again
only when a block was mined since the last read). A refused operation signs nothing, stores
nothing and changes no balance.
"""

from __future__ import annotations

import pytest

from l2.designs.channels import rules
from l2.designs.channels.errors import ChannelClosed
from l2.designs.channels.messages import balance_proof_digest, cooperative_close_digest
from l2.designs.channels.party import STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B, STATUS_NONE, Party
from l2.designs.channels.rules import A, B
from l2.designs.channels.storage import ChannelStore
from l2.designs.channels.watcher import ChannelWatcher

ETHER = 10**18
TENTH = 10**17
PERIOD = 100


@pytest.fixture
def stored_channel(chain, registry, alice, bob, open_channel, tmp_path):
    """An open ETH channel, 1 ETH a side, both ends durable; Alice has paid Bob 0.1."""
    party_a, party_b = open_channel(chain, registry, alice, bob, store_a=ChannelStore(tmp_path / "a.db"),
                                    store_b=ChannelStore(tmp_path / "b.db"))
    party_a.receive_ack(party_b.receive(party_a.pay(TENTH)))
    party_a.flush()
    return party_a, party_b


def _signed_payment(payer: Party, amount: int) -> dict:
    """A payment `payer` signs without recording it (as one signed before a close and held back)."""
    proof = rules.next_payment(payer.funding, payer.latest.proof, payer.side, amount)
    signature = payer.signer.sign(balance_proof_digest(payer.domain, proof))
    return {"type": "BalanceProof", "proof": proof.to_json(), "signature": "0x" + signature.hex()}


def test_pay_after_settle_is_refused_by_both_and_nothing_changes(chain, stored_channel, everything):
    party_a, party_b = stored_channel
    party_a.close()
    chain.advance_time(PERIOD)
    party_b.settle()
    assert (party_a.status, party_b.status) == (STATUS_CLOSED_BY_A, STATUS_NONE)  # each knows what it did
    for party, state in ((party_a, "closing"), (party_b, "settled")):
        before = everything(party)
        with pytest.raises(ChannelClosed, match=f"is {state}"):
            party.pay(1)
        assert everything(party) == before
    assert party_b.balance() == ETHER + TENTH  # the last agreed state, not a wei more


def test_receive_after_partner_closed_is_refused_balance_unchanged_nothing_stored(chain, stored_channel, everything):
    party_a, party_b = stored_channel
    late = _signed_payment(party_a, 5 * TENTH)  # signed while open, held back...
    party_a.close()  # ...and delivered once the close is on Layer 1: Bob must not credit it
    before = everything(party_b)
    with pytest.raises(ChannelClosed, match=r"closing \(participant A closed it\)"):
        party_b.receive(late)
    assert everything(party_b) == before
    assert party_b.balance() == ETHER + TENTH and party_b.status == STATUS_CLOSED_BY_A  # learnt from Layer 1
    chain.advance_time(PERIOD)
    party_a.settle()
    with pytest.raises(ChannelClosed):
        party_b.receive(late)  # and after the settlement all the more
    assert everything(party_b) == before


def test_receiver_reads_layer1_once_per_new_block(chain, channel, pay, monkeypatch):
    party_a, party_b = channel
    reads = []
    call = chain.call
    monkeypatch.setattr(chain, "call", lambda fn, *a, **k: reads.append(fn.fn_name) or call(fn, *a, **k))
    for _ in range(5):
        pay(party_a, party_b, 1)
        pay(party_b, party_a, 1)
    assert reads.count("channelState") <= 2  # once by each receiver, for this block
    chain.mine()
    pay(party_a, party_b, 1)
    assert reads.count("channelState") <= 3  # a new block: one more read


def test_watchers_view_spares_the_receiver_its_own_read(chain, channel, pay, monkeypatch):
    """The watcher has read every close and settle event up to the latest block: the channel is
    open as of that block, and the receiver needs no contract read of its own."""
    party_a, party_b = channel
    chain.mine()
    ChannelWatcher(party_b, settle=False).poll()
    reads = []
    call = chain.call
    monkeypatch.setattr(chain, "call", lambda fn, *a, **k: reads.append(fn.fn_name) or call(fn, *a, **k))
    pay(party_a, party_b, 1)
    assert "channelState" not in reads


def _operations(party: Party, partner: Party, chain) -> tuple[dict, dict]:
    """Every operation of `party`, with messages both signed while the channel was open; and the
    partner's cooperative close with both signatures, for the partner to submit."""
    their_withdraw = partner.request_withdraw(TENTH, expiry=chain.now() + 3600)
    our_withdraw = party.request_withdraw(TENTH, expiry=chain.now() + 3600)
    approval = partner.approve_withdraw(our_withdraw)
    close_proposal = partner.propose_cooperative_close()
    close = rules.CooperativeClose.from_json(close_proposal)
    our_close_sig = party.signer.sign(cooperative_close_digest(party.domain, close))  # signed elsewhere, say
    payment = _signed_payment(partner, 2)  # crosses our own payment below: we are B, so we would lose
    pending = party.pay(1)
    ack_sig = partner.signer.sign(balance_proof_digest(party.domain, rules.BalanceProof.from_json(pending["proof"])))
    ack = {"type": "BalanceProofAck", "proof": pending["proof"], "signature": "0x" + ack_sig.hex()}
    ops = {
        "pay": lambda: party.pay(1),
        "receive": lambda: party.receive(payment),
        "receive_ack": lambda: party.receive_ack(ack),
        "request_withdraw": lambda: party.request_withdraw(1, expiry=chain.now() + 3600),
        "approve_withdraw": lambda: party.approve_withdraw(their_withdraw),
        "withdraw": lambda: party.withdraw(our_withdraw, approval),
        "propose_cooperative_close": lambda: party.propose_cooperative_close(),
        "countersign_cooperative_close": lambda: party.countersign_cooperative_close(close_proposal),
        "accept_cooperative_close": lambda: party.accept_cooperative_close(close_proposal),
        "close": lambda: party.close(),
        "deposit": lambda: party.deposit(1),
    }
    sigs = {party.side: our_close_sig, partner.side: bytes.fromhex(close_proposal["signature"][2:])}
    return ops, {"close": close, "sig_a": sigs[A], "sig_b": sigs[B]}


# Layer-1 reads happen before a counter-signature or a transaction; `pay` and `receive_ack` sign
# nothing of the partner's and use only what the party knows (its own actions, its watcher).
KNOWN_ONLY = {"pay", "receive_ack"}


@pytest.mark.parametrize("how", ["we closed", "partner closed, watcher told us", "partner closed, not told",
                                 "settled by the partner, not told", "closed cooperatively by the partner, not told"])
def test_every_operation_on_a_closed_channel_is_refused_and_changes_nothing(chain, stored_channel, everything, how):
    party_a, party_b = stored_channel
    party = party_b  # B: the crossing's loser, so the crossing payment from A gets as far as it can
    ops, cooperative = _operations(party, party_a, chain)
    party.flush()
    if how == "we closed":
        party.close()
    elif how.startswith("closed cooperatively"):
        call = party_a.registry.functions.cooperativeClose(party_a.params.as_tuple(), cooperative["close"].as_tuple(),
                                                            cooperative["sig_a"], cooperative["sig_b"])
        chain.transact(call, party_a.account)
    else:
        party_a.close()
        if how == "partner closed, watcher told us":
            ChannelWatcher(party, settle=False).poll()
        if how.startswith("settled"):
            chain.advance_time(PERIOD)
            party_a.settle()
    told = not how.endswith("not told")
    if how.startswith(("settled", "closed cooperatively")):
        ops["update_state"] = lambda: party.update_state()  # nothing left to answer or settle
        ops["settle"] = lambda: party.settle()
    before = everything(party)
    for name, op in ops.items():
        if name in KNOWN_ONLY and not told:
            continue
        with pytest.raises(ChannelClosed):
            op()
        assert everything(party) == before, name
    assert party.closed


def test_closing_party_may_still_answer_and_settle(chain, stored_channel, pay):
    """While closing, the dispute operations are the appropriate ones: refused are only the others."""
    party_a, party_b = stored_channel
    stale = party_a.latest
    pay(party_a, party_b, TENTH)
    party_a.close(stale)
    assert ChannelWatcher(party_b, settle=False).poll() == [("updated", 2)]  # answering is what closing is for
    with pytest.raises(ChannelClosed):
        party_b.pay(1)  # paying is not: the watcher told Bob
    chain.advance_time(PERIOD)
    party_b.settle()
    assert party_b.status == STATUS_NONE


def test_watcher_tells_its_party_so_payments_stop_without_a_read(chain, channel, monkeypatch):
    party_a, party_b = channel
    party_a.close()
    watcher = ChannelWatcher(party_b, settle=False)
    watcher.poll()
    assert party_b.status == STATUS_CLOSED_BY_A
    monkeypatch.setattr(party_b, "chain", None)  # no Layer 1 at all now: the party knows already
    with pytest.raises(ChannelClosed, match="closing"):
        party_b.pay(1)


def test_cooperative_close_by_the_partner_stops_the_proposer(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, TENTH)
    party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    assert party_b.status == STATUS_NONE
    with pytest.raises(ChannelClosed, match="settled"):
        party_a.pay(1)  # Alice signed a close: she reads Layer 1 before paying and finds it settled
    assert party_a.signed_close is None and party_a.status == STATUS_NONE
    watcher = ChannelWatcher(party_a)
    assert watcher.poll() == [] and watcher.ended  # her watcher sees the CooperativelyClosed event


@pytest.mark.parametrize("side", [A, B])
def test_status_only_moves_forward(channel, side):
    party = channel[0] if side == A else channel[1]
    party.observe(STATUS_CLOSED_BY_B)
    party.observe(1)  # a stale "open" read
    assert party.closed and party.status == STATUS_CLOSED_BY_B
    party.observe(STATUS_NONE)
    party.observe(STATUS_CLOSED_BY_A)
    assert party.status == STATUS_NONE
