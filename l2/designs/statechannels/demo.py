"""The state-channel acts of `l2 demo`: a whole game off-chain and one conclusion on chain; a loser who goes
silent, challenged by the winner's watcher and beaten by timeout; payments through a virtual channel over a
hub, opened, used and closed with no Layer-1 transaction."""

from __future__ import annotations

import random

from l2.designs.statechannels.party import Party, conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import PLAYS, FixedPart, Phase, RPSData, rps_winner
from l2.designs.statechannels.virtual import Hub, close_virtual, conclude_ledger, fund_virtual, open_ledger
from l2.designs.statechannels.watcher import StateChannelWatcher
from l2.output import eth, gas, table

DURATION = 60  # seconds a challenge stays open
PATIENCE = 30  # seconds a watcher waits for a silent opponent before it challenges


def run(story) -> int:
    """All three acts; returns the off-chain moves made."""
    contracts = {name: story.chain.contract(name, story.deployment[name])
                 for name in ("Adjudicator", "RockPaperScissors", "SingleDirectionPayment", "ConsensusApp")}
    made = _a_whole_game(story, contracts)
    made += _a_silent_loser(story, contracts)
    return made + _payments(story, contracts)




def _open(story, contracts, app: str, deposit: int, app_data: bytes, rng=None) -> tuple[Party, Party, list]:
    chain = story.chain
    alice, bob = story.accounts["alice"], story.accounts["bob"]
    nonce = story.rng.getrandbits(40)  # from the story's seed: the same seed tells the same story, to the gas
    contract = contracts["RockPaperScissors" if app == "rps" else "SingleDirectionPayment"]
    fixed = FixedPart((alice.address, bob.address), nonce, contract.address, DURATION)
    rng = rng or random.Random(story.rng.random())
    pa = connect(chain, contracts["Adjudicator"], fixed, app, alice, rng=rng)
    pb = connect(chain, contracts["Adjudicator"], fixed, app, bob, rng=rng)
    setup([pa, pb], (deposit, deposit if app == "rps" else 0), app_data)
    layer1 = [("alice deposits", pa.deposit(deposit, 0).gasUsed)]
    if app == "rps":
        layer1.append(("bob deposits", pb.deposit(deposit, deposit).gasUsed))
    return pa, pb, layer1


def _a_whole_game(story, contracts) -> int:
    console, unit = story.console, story.unit
    rounds = max(2, story.payments // 8)
    story.act(f"State channel: {rounds:,} rounds of rock-paper-scissors off-chain, one transaction to end it")
    stake = unit // 10
    pa, pb, layer1 = _open(story, contracts, "rps", 5 * unit, RPSData(Phase.START, stake).encode())
    console.print(f"alice and bob fund a channel in the Adjudicator with {eth(5 * unit)} each and play for "
                  f"{eth(stake)} a round. Alice commits to a hidden play, bob plays in the clear, alice reveals: "
                  "every move is checked by both with the same rule the RockPaperScissors contract applies, "
                  "signed by its mover, stored, and sent nowhere else.", highlight=False)
    wins = {"alice": 0, "bob": 0, "draw": 0}
    moves = 0
    with story.progress("rounds", rounds) as advance:
        for _ in range(rounds):
            for mover, other in ((pa, pb), (pb, pa), (pa, pb), (pb, pa)):
                deliver(mover.play(), other)
                moves += 1
            revealed = RPSData.decode(pa.states[pa.turn_num - 1][0].app_data)
            wins[("bob", "draw", "alice")[rps_winner(revealed.play_a, revealed.play_b)]] += 1
            advance()
    console.print(f"{moves:,} moves: alice won {wins['alice']}, bob {wins['bob']}, {wins['draw']} draws; "
                  f"alice now has {eth(pa.newest.outcome[0])}, bob {eth(pa.newest.outcome[1])}", highlight=False)
    conclude_together([pa, pb])
    receipt = pb.conclude()
    layer1.append(("both sign a final state; one concludeAndTransfer pays both", receipt.gasUsed))
    console.print(_gas_table("Layer-1 transactions of the game", layer1))
    return moves


def _a_silent_loser(story, contracts) -> int:
    chain, console, unit = story.chain, story.console, story.unit
    story.act("State channel: the loser goes silent, and loses by timeout")
    stake = unit // 2
    pa, pb, layer1 = _open(story, contracts, "rps", 5 * unit, RPSData(Phase.START, stake).encode())
    deliver(pa.play(1), pb)  # rock, hidden
    deliver(pb.play(2), pa)  # paper, in the clear: alice has lost
    console.print(f"alice commits to {PLAYS[1]}, bob plays {PLAYS[2]}. Alice has lost the round and stops "
                  "answering rather than reveal. Bob's state already pays him alice's stake (a player who will "
                  f"not reveal is the loser), and bob's watcher challenges with it after {PATIENCE} s of silence.",
                  highlight=False)
    watcher = StateChannelWatcher(pb, patience=PATIENCE, name="bob's watcher")
    chain.advance_time(PATIENCE)
    with chain.record() as challenged:
        for event in watcher.step():
            console.print(str(event), highlight=False, markup=False)
    chain.advance_time(DURATION)
    with chain.record() as paid:
        for event in watcher.step():
            console.print(str(event), highlight=False, markup=False)
    if watcher.actions != ["challenge", "transfer"]:
        raise AssertionError(f"bob's watcher did not force the game: {watcher.actions}")
    layer1 += [("bob's watcher challenges the silent alice", challenged[-1].gas_used),
               (f"after {DURATION} s unanswered, it pays out", paid[-1].gas_used)]
    console.print(_gas_table("Layer-1 transactions of the forced game", layer1))
    return 2


def _payments(story, contracts) -> int:
    chain, console, rng, unit = story.chain, story.console, story.rng, story.unit
    n = story.payments
    story.act(f"State channel: {n:,} payments through a virtual channel over a hub")
    alice, bob, hub = story.accounts["alice"], story.accounts["bob"], story.accounts["carol"]
    adjudicator, ledger_app = contracts["Adjudicator"], contracts["ConsensusApp"]
    nonce = story.rng.getrandbits(40)
    with chain.record() as opened:
        a_end, hub_a = open_ledger(chain, adjudicator, ledger_app, alice, hub, (5 * unit, 5 * unit), nonce, DURATION)
        hub_b, b_end = open_ledger(chain, adjudicator, ledger_app, hub, bob, (5 * unit, 5 * unit), nonce + 1,
                                   DURATION)
    layer1 = [("the two ledger channels are funded (four deposits)", sum(t.gas_used for t in opened))]
    fixed = FixedPart((alice.address, bob.address), nonce + 2, contracts["SingleDirectionPayment"].address, DURATION)
    # One hub for the channel's life: it keeps the setup it checked, and marks the channel released at the end.
    hub = Hub(hub_a, hub_b, payment_app=contracts["SingleDirectionPayment"].address, max_challenge_duration=DURATION)
    va = connect(chain, adjudicator, fixed, "payment", alice)
    vb = connect(chain, adjudicator, fixed, "payment", bob)
    console.print("alice and carol (a hub) share a ledger channel, so do carol and bob. alice and bob set up a "
                  f"virtual channel of {eth(2 * unit)} on the single-direction payment app; each ledger sets that "
                  "much aside as a guarantee for it, signed by its two participants. Then alice pays bob: each "
                  "payment is her move and his acknowledgement, and carol sees none of them.", highlight=False)
    with chain.record() as offchain:
        setup([va, vb], (2 * unit, 0))
        fund_virtual(a_end, hub, b_end, va, vb)
        with story.progress("payments", n) as advance:
            for _ in range(n):
                # at most twice the channel / n each (half of the channel on average over the n payments)
                amount = min(rng.randint(1, max(1, 2 * unit // n)), va.newest.outcome[0])
                if amount == 0:
                    break
                deliver(va.pay(amount), vb)
                deliver(vb.acknowledge(), va)
                advance()
        close_virtual(a_end, hub, b_end, va, vb)
    if offchain:
        raise AssertionError("the virtual channel touched Layer 1")
    final = va.final
    assert final is not None  # close_virtual had both sign it
    paid = final[0].outcome[1]
    console.print(f"opened, {n:,} payments ({eth(paid)} in all) and closed with no Layer-1 transaction: both "
                  f"ledgers released the guarantee, alice's ledger now pays carol {eth(paid)} more, carol's "
                  "ledger pays bob as much.", highlight=False)
    with chain.record() as closed:
        conclude_ledger(a_end, hub_a)
        conclude_ledger(b_end, hub_b)
    layer1.append(("each ledger concludes in one transaction", sum(t.gas_used for t in closed)))
    console.print(_gas_table("Layer-1 transactions of the virtual channel's ledgers", layer1))
    return n


def _gas_table(title: str, rows: list) -> object:
    out = table(title, "transaction", "gas")
    for what, used in rows:
        out.add_row(what, gas(used))
    out.add_row("total", gas(sum(u for _, u in rows)), style="bold")
    return out
