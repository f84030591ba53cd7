"""The channels' part of `l2 sandbox`: a channel between alice and bob, both ends durable in SQLite,
each watched by a ChannelWatcher that answers a stale close and settles after the period."""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.channels.party import STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B, STATUS_OPEN, Party, pay
from l2.designs.channels.storage import ChannelStore
from l2.designs.channels.watcher import ChannelWatcher
from l2.output import eth

CHANNEL_PERIOD = 60  # seconds; at least the registry's minimum


def part(env: SandboxEnv) -> SandboxPart:
    chain = env.chain
    registry = chain.contract("ChannelRegistry", env.addresses["ChannelRegistry"])
    period = max(CHANNEL_PERIOD, registry.functions.minChallengePeriod().call())
    alice, bob = env.users["alice"], env.users["bob"]
    deposit = 5 * env.unit
    stores = [ChannelStore(env.workdir / "alice-channels.db"), ChannelStore(env.workdir / "bob-channels.db")]
    alice_channel, _ = Party.open(chain, registry, alice, bob.address, challenge_period=period, deposit=deposit,
                                  store=stores[0])
    bob_channel = Party.join(chain, registry, bob, alice_channel.params, store=stores[1])
    bob_channel.deposit(deposit)
    alice_channel.refresh_funding()
    parties = {"alice": alice_channel, "bob": bob_channel}
    names: dict[str, str] = {alice.address: "alice", bob.address: "bob"}
    watchers = {name: ChannelWatcher(party, lock=env.lock, name=f"{name}'s watcher", names=names)
                for name, party in parties.items()}

    def cells(name: str, address: str) -> list[str]:
        live = alice_channel.onchain_state()[0][3] != 0  # open or closing, not settled
        return [eth(parties[name].balance()) if name in parties and live else ""]

    def status() -> list[str]:
        channel, _ = alice_channel.onchain_state()
        state, closing_nonce = channel[3], channel[6]
        where = {STATUS_OPEN: "open", STATUS_CLOSED_BY_A: "closing (alice closed)",
                 STATUS_CLOSED_BY_B: "closing (bob closed)"}.get(state, "settled")
        if state == STATUS_OPEN:
            where += (f", nonce {alice_channel.nonce}: alice {eth(alice_channel.balance())}, "
                      f"bob {eth(alice_channel.partner_balance)}")
        elif state in (STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B):
            where += f" with nonce {closing_nonce}; latest co-signed nonce {alice_channel.nonce}"
        return [f"channel alice-bob: {where}"]

    return SandboxPart(
        objects={"registry": registry, "alice_channel": alice_channel, "bob_channel": bob_channel,
                 "watchers": watchers, "pay": pay},
        services=list(watchers.values()),
        contracts=[f"registry {registry.address} (ChannelRegistry)"],
        banner=[f"  channel    alice_channel, bob_channel: the two Parties of alice-bob, {eth(deposit, 0)} each",
                f"             challenge period {period} s, both watched (watchers)"],
        helpers=["pay(payer, receiver, wei)"],
        columns=["channel"],
        cells=cells,
        status=status,
        close=lambda: _close(stores),
    )


def _close(stores: list[ChannelStore]) -> None:
    for store in stores:
        store.close()
