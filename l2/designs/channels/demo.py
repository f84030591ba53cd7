"""The channel acts of `l2 demo`: many payments off-chain and one net settlement; a stale close that loses."""

from __future__ import annotations

import time

from l2.designs.channels.party import Party, pay
from l2.designs.channels.rules import A, B, balance
from l2.designs.channels.watcher import ChannelWatcher
from l2.output import eth, gas, table

PERIOD = 60  # seconds of challenge period (at least the registry's minimum)
DISPUTE_PAYMENTS = 4


def run(story) -> int:
    """Both channel acts; returns the number of off-chain payments made."""
    chain = story.chain
    registry = chain.contract("ChannelRegistry", story.deployment["ChannelRegistry"])
    period = max(PERIOD, registry.functions.minChallengePeriod().call())
    made = _many_payments_one_settlement(story, registry, period)
    return made + _stale_close_loses(story, registry, period)


def _open(story, registry, period: int) -> tuple[Party, Party, list]:
    """alice opens with her deposit, bob adds his: both sides hold 5 units."""
    alice, bob = story.accounts["alice"], story.accounts["bob"]
    deposit = 5 * story.unit
    party_a, r_open = Party.open(story.chain, registry, alice, bob.address, challenge_period=period, deposit=deposit)
    party_b = Party.join(story.chain, registry, bob, party_a.params)
    r_deposit = party_b.deposit(deposit)
    party_a.refresh_funding()
    return party_a, party_b, [("alice opens the channel with her deposit", r_open.gasUsed),
                              ("bob deposits", r_deposit.gasUsed)]


def _many_payments_one_settlement(story, registry, period: int) -> int:
    chain, console, rng = story.chain, story.console, story.rng
    n = story.payments
    story.act(f"Channel: {n:,} payments off-chain, one net settlement on Layer 1")
    party_a, party_b, layer1 = _open(story, registry, period)
    console.print(f"alice and bob fund a channel in {registry.address} with {eth(5 * story.unit)} each, "
                  f"then pay each other off-chain: every payment is a BalanceProof signed by the payer and "
                  f"counter-signed by the receiver, kept by both, sent nowhere.", highlight=False)
    sent = {A: 0, B: 0}
    start = time.perf_counter()
    with story.progress("payments", n) as advance:
        for _ in range(n):
            payer, receiver = (party_a, party_b) if rng.random() < 0.6 else (party_b, party_a)
            amount = rng.randint(1, story.unit // 50)
            if amount > payer.balance():
                payer, receiver = receiver, payer  # this side has run dry: the other one pays
            pay(payer, receiver, amount)
            sent[payer.side] += amount
            advance()
    elapsed = time.perf_counter() - start
    console.print(f"{n:,} payments both ways in {elapsed:.2f} s ({n / elapsed:,.0f} a second on one core, "
                  f"{2 * n:,} signatures), not one Layer-1 transaction", highlight=False)
    receipt = party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    layer1.append(("one cooperative close pays both sides", receipt.gasUsed))
    (closed,) = chain.events(receipt, registry, "CooperativelyClosed")

    settlement = table("One net settlement", "", "alice", "bob")
    settlement.add_row("deposited", eth(5 * story.unit), eth(5 * story.unit))
    settlement.add_row("paid off-chain", eth(sent[A]), eth(sent[B]))
    settlement.add_row("received off-chain", eth(sent[B]), eth(sent[A]))
    settlement.add_row("paid out on Layer 1", eth(closed.payoutA), eth(closed.payoutB), style="bold")
    console.print(settlement)
    console.print(_gas_table("Layer-1 transactions of the channel", layer1, n))
    return n


def _stale_close_loses(story, registry, period: int) -> int:
    chain, console, rng = story.chain, story.console, story.rng
    story.act("Channel: a disputed close, and the stale state loses")
    party_a, party_b, layer1 = _open(story, registry, period)
    amounts = [rng.randint(1, story.unit // 10) for _ in range(DISPUTE_PAYMENTS)]
    pay(party_a, party_b, amounts[0])
    stale = party_a.latest  # alice keeps the state where she had paid least...
    for amount in amounts[1:]:
        pay(party_a, party_b, amount)
    funding = party_a.funding
    console.print(f"alice pays bob {DISPUTE_PAYMENTS} times, then closes alone with the state after her first "
                  f"payment (nonce {stale.proof.nonce}): it has bob's signature, so Layer 1 accepts it and starts "
                  f"a {period} s challenge period.", highlight=False)
    layer1.append(("alice closes with a stale state", party_a.close(stale).gasUsed))
    watcher = ChannelWatcher(party_b)  # bob's: polled here, as a node's loop would
    with chain.record() as answered:
        for _action, nonce in watcher.poll():
            console.print(f"bob's watcher sees the close and answers with nonce {nonce}, the newest state both "
                          "signed, which pays him more", highlight=False)
    chain.advance_time(period)
    with chain.record() as settled_by:
        watcher.poll()
    if [a for a, _ in watcher.actions] != ["updated", "settled"]:
        raise AssertionError(f"bob's watcher did not defend the channel: {watcher.actions}")
    layer1.append(("bob's watcher answers with the newest state", answered[-1].gas_used))
    layer1.append(("bob's watcher settles after the challenge period", settled_by[-1].gas_used))
    (settled,) = registry.events.ChannelSettled().get_logs(from_block=chain.w3.eth.block_number,
                                                           argument_filters={"channelId": party_a.channel_id})

    dispute = table("The stale state loses", "", "nonce", "alice", "bob")
    dispute.add_row("alice's close (stale)", str(stale.proof.nonce), eth(balance(funding, stale.proof, A)),
                    eth(balance(funding, stale.proof, B)))
    dispute.add_row("bob's answer (newest)", str(party_b.nonce), eth(party_b.partner_balance), eth(party_b.balance()))
    dispute.add_row("paid out on Layer 1", "", eth(settled.args.payoutA), eth(settled.args.payoutB), style="bold")
    console.print(dispute)
    console.print(_gas_table("Layer-1 transactions of the dispute", layer1, DISPUTE_PAYMENTS))
    return DISPUTE_PAYMENTS


def _gas_table(title: str, layer1: list, payments: int):
    t = table(title, "transaction", "gas")
    for what, used in layer1:
        t.add_row(what, gas(used))
    total = sum(used for _, used in layer1)
    t.add_row(f"total, for {payments:,} payments", gas(total), style="bold")
    t.add_row("per payment", gas(total / payments))
    return t
