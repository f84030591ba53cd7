"""The state channels' part of `l2 sandbox`: a rock-paper-scissors channel between alice and bob, both ends
durable in SQLite, each watched by a StateChannelWatcher (answers challenges, challenges a silent opponent
after its patience, pays out)."""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.statechannels.party import conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import PLAYS, FixedPart, Phase, RPSData
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.watcher import StateChannelWatcher
from l2.output import eth

DURATION = 60
PATIENCE = 120


def part(env: SandboxEnv) -> SandboxPart:
    chain = env.chain
    adjudicator = chain.contract("Adjudicator", env.addresses["Adjudicator"])
    app = chain.contract("RockPaperScissors", env.addresses["RockPaperScissors"])
    alice, bob = env.users["alice"], env.users["bob"]
    deposit, stake = 5 * env.unit, env.unit // 10
    fixed = FixedPart((alice.address, bob.address), chain.now(), app.address, DURATION)
    stores = [StateStore(env.workdir / "alice-statechannel.db"), StateStore(env.workdir / "bob-statechannel.db")]
    parties = {"alice": connect(chain, adjudicator, fixed, "rps", alice, store=stores[0]),
               "bob": connect(chain, adjudicator, fixed, "rps", bob, store=stores[1])}
    setup(list(parties.values()), (deposit, deposit), RPSData(Phase.START, stake).encode())
    parties["alice"].deposit(deposit, 0)
    parties["bob"].deposit(deposit, deposit)
    watchers = {name: StateChannelWatcher(p, patience=PATIENCE, name=f"{name}'s game watcher", lock=env.lock)
                for name, p in parties.items()}

    def play(who: str, play: int | None = None) -> str:
        """`who` ("alice" or "bob") makes the game's next move (a play is 1 rock, 2 paper, 3 scissors)."""
        mover = parties[who]
        other = parties["bob" if who == "alice" else "alice"]
        deliver(mover.play(play), other)
        data = RPSData.decode(mover.latest.app_data)
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
        return [eth(party.latest.outcome[party.me])]

    def status() -> list[str]:
        a = parties["alice"]
        onchain = a.onchain()
        where = onchain.status(chain.now())
        phase = RPSData.decode(a.latest.app_data).phase.name.lower()
        return [f"game alice-bob: {where} on Layer 1, turn {a.turn_num} ({phase}); "
                f"alice {eth(a.latest.outcome[0])}, bob {eth(a.latest.outcome[1])}"]

    return SandboxPart(
        objects={"adjudicator": adjudicator, "alice_game": parties["alice"], "bob_game": parties["bob"],
                 "game_watchers": watchers, "play": play, "conclude": conclude},
        services=list(watchers.values()),
        contracts=[f"adjudicator {adjudicator.address} (Adjudicator)", f"rps {app.address} (RockPaperScissors)"],
        banner=[f"  game       alice_game, bob_game: rock-paper-scissors, {eth(deposit, 0)} each, stake {eth(stake)}",
                f"             challenge duration {DURATION} s; watchers challenge after {PATIENCE} s of silence"],
        helpers=["play(who, play=None)", "conclude()"],
        columns=["game"],
        cells=cells,
        status=status,
        close=lambda: [store.close() for store in stores] and None,
    )
