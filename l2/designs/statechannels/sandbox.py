"""The state channels' part of `l2 sandbox`: a rock-paper-scissors channel between alice and bob, both ends
durable in SQLite, each watched by a StateChannelWatcher (answers challenges, challenges a silent opponent
after its patience, pays out); and a virtual payment channel alice -> bob through carol's hub, its two
ledgers watched by LedgerWatchers, the hub's guarantees by its GuarantorWatcher."""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.statechannels.guarantor import GuarantorWatcher
from l2.designs.statechannels.party import conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import PLAYS, FixedPart, Phase, RPSData
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.virtual import Hub, LedgerWatcher, fund_virtual, open_ledger
from l2.designs.statechannels.watcher import StateChannelWatcher
from l2.output import eth

DURATION = 60
PATIENCE = 120


def part(env: SandboxEnv) -> SandboxPart:
    chain = env.chain
    adjudicator = chain.contract("Adjudicator", env.addresses["Adjudicator"])
    app = chain.contract("RockPaperScissors", env.addresses["RockPaperScissors"])
    alice, bob = env.users["alice"], env.users["bob"]
    deposit, stake = env.unit, env.unit // 10  # small beside the other designs' funds (a node without dev accounts)
    fixed = FixedPart((alice.address, bob.address), chain.now(), app.address, DURATION)
    stores = [StateStore(env.workdir / "alice-statechannel.db"), StateStore(env.workdir / "bob-statechannel.db")]
    parties = {"alice": connect(chain, adjudicator, fixed, "rps", alice, store=stores[0]),
               "bob": connect(chain, adjudicator, fixed, "rps", bob, store=stores[1])}
    setup(list(parties.values()), (deposit, deposit), RPSData(Phase.START, stake).encode())
    parties["alice"].deposit(deposit, 0)
    parties["bob"].deposit(deposit, deposit)
    watchers = {name: StateChannelWatcher(p, patience=PATIENCE, name=f"{name}'s game watcher", lock=env.lock)
                for name, p in parties.items()}

    # A virtual payment channel alice -> bob through carol's hub: two ledgers on Layer 1, V off-chain only.
    hub_account = env.users["carol"]
    ledger_app = chain.contract("ConsensusApp", env.addresses["ConsensusApp"])
    nonce = chain.now() * 1000 + 1
    a_end, hub_a = open_ledger(chain, adjudicator, ledger_app, alice, hub_account, (deposit, deposit), nonce,
                               DURATION)
    hub_b, b_end = open_ledger(chain, adjudicator, ledger_app, hub_account, bob, (deposit, deposit), nonce + 1,
                               DURATION)
    payment_app = chain.contract("SingleDirectionPayment", env.addresses["SingleDirectionPayment"])
    hub = Hub(hub_a, hub_b, payment_app=payment_app.address, max_challenge_duration=DURATION)
    v_fixed = FixedPart((alice.address, bob.address), nonce + 2, payment_app.address, DURATION)
    va = connect(chain, adjudicator, v_fixed, "payment", alice)
    vb = connect(chain, adjudicator, v_fixed, "payment", bob)
    setup([va, vb], (deposit // 2, 0))
    fund_virtual(a_end, hub, b_end, va, vb)
    ledger_watchers = [LedgerWatcher(a_end, {va.channel_id: va}, name="alice's ledger watcher"),
                       LedgerWatcher(b_end, {va.channel_id: vb}, name="bob's ledger watcher")]
    # carol's side: after `hub.leave(channel id, now)` (or once one of her ledgers is closing) it challenges V
    # when alice and bob stay silent, and claims carol's guarantees by V's final outcome.
    hub_watcher = GuarantorWatcher(hub, patience=PATIENCE, name="carol's guarantor watcher", lock=env.lock)

    def pay_virtual(wei: int) -> str:
        """alice pays bob `wei` through the virtual channel (carol's hub sees nothing)."""
        deliver(va.pay(wei), vb)
        deliver(vb.acknowledge(), va)
        return f"alice has paid bob {eth(va.newest.outcome[1])} through carol's hub"

    def play(who: str, play: int | None = None) -> str:
        """`who` ("alice" or "bob") makes the game's next move (a play is 1 rock, 2 paper, 3 scissors)."""
        mover = parties[who]
        other = parties["bob" if who == "alice" else "alice"]
        deliver(mover.play(play), other)
        data = RPSData.decode(mover.newest.app_data)
        return f"turn {mover.turn_num}: {data.phase.name.lower()}" + (
            f", bob played {PLAYS[data.play_b]}" if data.play_b else "")

    def conclude() -> object:
        """Both sign a final state; alice submits it (one transaction pays both)."""
        conclude_together([parties["alice"], parties["bob"]])
        return parties["alice"].conclude()

    def cells(name: str, address: str) -> list[str]:
        party = parties.get(name)
        if party is None or party.final is not None:
            return [""]
        return [eth(party.newest.outcome[party.me])]

    def status() -> list[str]:
        a = parties["alice"]
        onchain = a.onchain()
        where = onchain.status(chain.now())
        phase = RPSData.decode(a.newest.app_data).phase.name.lower()
        return [f"game alice-bob: {where} on Layer 1, turn {a.turn_num} ({phase}); "
                f"alice {eth(a.newest.outcome[0])}, bob {eth(a.newest.outcome[1])}",
                f"virtual alice->bob via carol: paid {eth(va.newest.outcome[1])} of {eth(va.newest.total)}"]

    def close() -> None:
        for store in stores:
            store.close()

    return SandboxPart(
        objects={"adjudicator": adjudicator, "alice_game": parties["alice"], "bob_game": parties["bob"],
                 "game_watchers": watchers, "play": play, "conclude": conclude, "alice_virtual": va,
                 "bob_virtual": vb, "hub": hub, "alice_ledger": a_end, "bob_ledger": b_end,
                 "pay_virtual": pay_virtual, "hub_watcher": hub_watcher},
        services=[*watchers.values(), *ledger_watchers, hub_watcher],
        contracts=[f"adjudicator {adjudicator.address} (Adjudicator)", f"rps {app.address} (RockPaperScissors)"],
        banner=[f"  game       alice_game, bob_game: rock-paper-scissors, {eth(deposit, 0)} each, stake {eth(stake)}",
                f"             challenge duration {DURATION} s; watchers challenge after {PATIENCE} s of silence",
                f"  virtual    alice_virtual, bob_virtual: {eth(deposit // 2)} alice->bob through carol's hub "
                "(hub, alice_ledger, bob_ledger)"],
        helpers=["play(who, play=None)", "conclude()", "pay_virtual(wei)"],
        columns=["game"],
        cells=cells,
        status=status,
        close=close,
    )
