"""Demo section: many payments off-chain, one net settlement on Layer 1; then a cheater meets the watcher."""

from __future__ import annotations

import time

from rich.table import Table

from l2.channels.party import Party
from l2.channels.watcher import ChannelWatcher

ETHER = 10**18
PERIOD = 60
PAYMENTS = 1_000


def _eth(wei: int) -> str:
    return f"{wei / ETHER:.6f} ETH"


def _pay(payer: Party, receiver: Party, amount: int) -> None:
    payer.receive_ack(receiver.receive(payer.pay(amount)))


def run(chain, console, deployment: dict[str, str]) -> None:
    console.rule("[bold]Payment channels: pay off-chain, settle the net on Layer 1")
    registry = chain.contract("ChannelRegistry", deployment["ChannelRegistry"])
    alice, bob = chain.accounts[1], chain.accounts[2]
    console.print(f"ChannelRegistry at {registry.address}")

    gas: list[tuple[str, int]] = []
    party_a, receipt = Party.open(chain, registry, alice, bob.address, challenge_period=PERIOD, deposit=ETHER)
    gas.append(("Alice opens with 1 ETH", receipt.gasUsed))
    party_b = Party.join(chain, registry, bob, party_a.params)
    gas.append(("Bob deposits 1 ETH", party_b.deposit(ETHER).gasUsed))
    party_a.refresh_funding()

    start = time.perf_counter()
    for i in range(PAYMENTS):  # Alice buys 2 units, Bob refunds 1, over and over
        if i % 3:
            _pay(party_a, party_b, 2 * 10**14)
        else:
            _pay(party_b, party_a, 10**14)
    elapsed = time.perf_counter() - start
    console.print(
        f"{PAYMENTS} signed payments both ways off-chain in {elapsed:.2f} s "
        f"({PAYMENTS / elapsed:,.0f}/s), zero Layer-1 transactions"
    )

    before = {p.address: chain.balance(p.address) for p in (party_a, party_b)}
    receipt = party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    gas.append(("Cooperative close, both paid at once", receipt.gasUsed))
    cost_b = receipt.gasUsed * receipt.effectiveGasPrice

    table = Table(title="One net settlement")
    for column in ("", "Alice", "Bob"):
        table.add_column(column)
    table.add_row("deposited", _eth(ETHER), _eth(ETHER))
    table.add_row("off-chain balance", _eth(party_a.balance()), _eth(party_b.balance()))
    table.add_row(
        "received on Layer 1",
        _eth(chain.balance(alice.address) - before[alice.address]),
        _eth(chain.balance(bob.address) - before[bob.address] + cost_b),
    )
    console.print(table)

    # A cheater closes with an old state; Bob's watcher answers on its own, then settles.
    party_a, receipt = Party.open(chain, registry, alice, bob.address, challenge_period=PERIOD, deposit=ETHER)
    party_b = Party.join(chain, registry, bob, party_a.params)
    party_a.refresh_funding()
    _pay(party_a, party_b, 3 * 10**17)
    stale = party_a.latest
    _pay(party_a, party_b, 4 * 10**17)
    with ChannelWatcher(party_b, poll_interval=0.01) as watcher:
        with watcher.lock:
            receipt = party_a.close(stale)
        gas.append(("Alice closes with a stale state", receipt.gasUsed))
        watcher.answered.wait(20)
        with watcher.lock:
            chain.advance_time(PERIOD)
        watcher.settled.wait(20)
    console.print(
        f"Alice closed claiming she paid 0.3 ETH; Bob's watcher answered with nonce {party_b.nonce} "
        f"(0.7 ETH) and settled: actions {[a for a, _ in watcher.actions]}"
    )

    gas_table = Table(title="Layer-1 gas")
    gas_table.add_column("transaction")
    gas_table.add_column("gas", justify="right")
    for name, used in gas:
        gas_table.add_row(name, f"{used:,}")
    console.print(gas_table)
