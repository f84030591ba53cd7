"""Channel benchmarks: off-chain updates per second (in memory and durable) and Layer-1 gas.

An update is the whole exchange for one payment: the payer signs the next
BalanceProof, the receiver decodes and checks every field, the rules and the
signature and counter-signs, the payer takes the acknowledgement (format-checked;
its signature is verified before any Layer-1 use, see `party.py`). JSON-ready
messages, one core, both parties in one process. Durable: each update is two
fsynced SQLite commits (the payer's proposal and the receiver's co-signed state;
the payer's copy of the ack rides along with its next write). Connected: the
parties are bound to a registry on the embedded chain, so the receiver checks
that the channel is still open on Layer 1 before it counter-signs (one
block-number query per payment, a contract read per new block).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from eth_account import Account

from l2.designs.api import Metric, benchmark, beside_commit_metrics
from l2.designs.channels.messages import ChannelDomain
from l2.designs.channels.party import Party, pay
from l2.designs.channels.rules import ZERO_ADDRESS, ChannelParams, Funding
from l2.designs.channels.storage import ChannelStore

ETHER = 10**18
PERIOD = 3600


def _offline_pair(store_dir: Path | None = None) -> tuple[Party, Party]:
    key_a, key_b = bytes([0x11]) * 32, bytes([0x22]) * 32
    params = ChannelParams(Account.from_key(key_a).address, Account.from_key(key_b).address, ZERO_ADDRESS, PERIOD, 1)
    domain = ChannelDomain(31337, "0x" + "42" * 20)
    funding = Funding(deposit_a=10**6 * ETHER, deposit_b=10**6 * ETHER)
    stores = (None, None) if store_dir is None else (ChannelStore(store_dir / "a.db"), ChannelStore(store_dir / "b.db"))
    return (
        Party(params, domain, key_a, funding=funding, store=stores[0]),
        Party(params, domain, key_b, funding=funding, store=stores[1]),
    )


def updates_per_second(count: int, store_dir: Path | None = None, pair: tuple[Party, Party] | None = None) -> float:
    """Payments per second, alternating direction, with every check a real party makes."""
    party_a, party_b = pair or _offline_pair(store_dir)
    for _ in range(20):  # warm up
        party_a.receive_ack(party_b.receive(party_a.pay(1)))
    start = time.perf_counter()
    for i in range(count):
        payer, receiver = (party_a, party_b) if i % 2 else (party_b, party_a)
        payer.receive_ack(receiver.receive(payer.pay(1)))
    elapsed = time.perf_counter() - start
    if store_dir is not None:  # the stores are ours (a given pair's are its owner's)
        for party in (party_a, party_b):
            if party.store is not None:
                party.store.close()
    return count / elapsed


@benchmark(
    metrics=[
        Metric("channels.updates_per_s_memory", unit="updates/s", target=5000, better="higher",
               reference="lnd ~22 payments/s on 2 vCPU (getAlby lightning-benchmark, anchors.md)"),
        Metric("channels.updates_per_s_durable", unit="updates/s", target=1500, better="higher",
               reference="lnd ~22 payments/s; here 2 fsynced SQLite commits per update (WAL, synchronous=FULL)"),
        *beside_commit_metrics("channels", "updates", 0.5),
    ]
)
def bench_updates(ctx) -> dict[str, float]:
    count = 2_000 if ctx.quick else 10_000
    with tempfile.TemporaryDirectory(prefix="l2-channels-bench-") as tmp:
        # The disk, not the code, caps a durable payment (two commits: the payer's and the receiver's): 0.5
        # would mean the code costs nothing beside the fsyncs.
        durable, beside = ctx.durable_beside("channels", Path(tmp), lambda: updates_per_second(count // 2, Path(tmp)))
    return {"channels.updates_per_s_memory": updates_per_second(count), "channels.updates_per_s_durable": durable,
            **beside}


@benchmark(
    metrics=[
        Metric("channels.updates_per_s_connected", unit="updates/s", better="higher",
               reference="lnd ~22 payments/s; here each receiver checks Layer 1 before it counter-signs"),
    ]
)
def bench_connected_updates(ctx) -> dict[str, float]:
    chain = ctx.chain()
    registry = chain.deploy("ChannelRegistry", 10, 30 * 24 * 3600)
    alice, bob = chain.accounts[1], chain.accounts[2]
    party_a, _ = Party.open(chain, registry, alice, bob.address, challenge_period=PERIOD, deposit=1000 * ETHER)
    party_b = Party.join(chain, registry, bob, party_a.params)
    party_b.deposit(1000 * ETHER)
    party_a.refresh_funding()
    count = 1_000 if ctx.quick else 5_000
    return {"channels.updates_per_s_connected": updates_per_second(count, pair=(party_a, party_b))}


def measure_gas(chain) -> dict[str, float]:
    """Gas of every external function and of the two lifecycles, on a fresh registry."""
    registry = chain.deploy("ChannelRegistry", 10, 30 * 24 * 3600)
    alice, bob = chain.accounts[1], chain.accounts[2]
    gas: dict[str, float] = {"channels.gas.deploy": registry.deploy_receipt.gasUsed}

    # Cooperative: open with deposit, partner deposit, cooperative close.
    party_a, r_open = Party.open(chain, registry, alice, bob.address, challenge_period=PERIOD, deposit=ETHER)
    party_b = Party.join(chain, registry, bob, party_a.params)
    r_deposit = party_b.deposit(ETHER)
    party_a.refresh_funding()
    for _ in range(3):
        pay(party_a, party_b, 10**16)
        pay(party_b, party_a, 10**15)
    request = party_a.request_withdraw(10**17, expiry=chain.now() + 3600)
    r_withdraw = party_a.withdraw(request, party_b.approve_withdraw(request))
    r_top_up = party_a.deposit(10**17)
    r_coop = party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    gas["channels.gas.open_with_deposit"] = r_open.gasUsed
    gas["channels.gas.deposit"] = r_deposit.gasUsed
    gas["channels.gas.deposit_top_up"] = r_top_up.gasUsed
    gas["channels.gas.withdraw"] = r_withdraw.gasUsed
    gas["channels.gas.cooperative_close"] = r_coop.gasUsed
    gas["channels.gas.lifecycle_cooperative"] = r_open.gasUsed + r_deposit.gasUsed + r_coop.gasUsed

    # Disputed: open with deposit, partner deposit, close with a stale proof, update, settle.
    party_a, r_open = Party.open(chain, registry, alice, bob.address, challenge_period=PERIOD, deposit=ETHER)
    party_b = Party.join(chain, registry, bob, party_a.params)
    r_deposit = party_b.deposit(ETHER)
    party_a.refresh_funding()
    pay(party_a, party_b, 10**17)
    stale = party_a.latest
    pay(party_b, party_a, 10**16)
    pay(party_a, party_b, 10**17)
    r_close = party_a.close(stale)
    r_update = party_b.update_state()
    chain.advance_time(PERIOD)
    r_settle = party_b.settle()
    gas["channels.gas.close"] = r_close.gasUsed
    gas["channels.gas.update_state"] = r_update.gasUsed
    gas["channels.gas.settle"] = r_settle.gasUsed
    gas["channels.gas.lifecycle_disputed"] = (
        r_open.gasUsed + r_deposit.gasUsed + r_close.gasUsed + r_update.gasUsed + r_settle.gasUsed
    )

    # open without a deposit
    receipt = chain.transact(registry.functions.open(bob.address, ZERO_ADDRESS, PERIOD, 0), alice)
    gas["channels.gas.open"] = receipt.gasUsed

    # claim: a contract participant that refused its payout collects it later
    wallet = chain.deploy("ChannelReentrantReceiver", registry.address)
    party_a, _ = Party.open(chain, registry, alice, wallet.address, challenge_period=PERIOD, deposit=ETHER)
    chain.transact(wallet.functions.deposit(party_a.params.as_tuple()), alice, value=ETHER)
    chain.transact(wallet.functions.setMode(2), alice)  # revert on receipt: payout deferred
    party_a.close()
    chain.advance_time(PERIOD)
    gas["channels.gas.settle_with_deferred_payout"] = party_a.settle().gasUsed
    chain.transact(wallet.functions.setMode(0), alice)
    gas["channels.gas.claim_via_contract_wallet"] = chain.transact(wallet.functions.claim(), alice).gasUsed
    return gas


@benchmark(
    metrics=[
        Metric("channels.gas.lifecycle_cooperative", unit="gas", target=200_000, better="lower",
               reference="Raiden ~315k, Nitro ~204k (anchors.md)"),
        Metric("channels.gas.lifecycle_disputed", unit="gas", target=380_000, better="lower",
               reference="Raiden ~520k, Nitro dispute exit ~195k + funding (anchors.md)"),
        Metric("channels.gas.open_with_deposit", unit="gas", better="lower",
               reference="Raiden openChannelWithDeposit 146,956"),
        Metric("channels.gas.deposit", unit="gas", better="lower", reference="Raiden setTotalDeposit 56,000"),
        Metric("channels.gas.withdraw", unit="gas", better="lower", reference="Raiden setTotalWithdraw 115,142"),
        Metric("channels.gas.cooperative_close", unit="gas", better="lower",
               reference="Raiden cooperativeSettle 112,270"),
        Metric("channels.gas.close", unit="gas", better="lower", reference="Raiden closeChannel 118,501"),
        Metric("channels.gas.update_state", unit="gas", better="lower",
               reference="Raiden updateNonClosingBalanceProof 90,516"),
        Metric("channels.gas.settle", unit="gas", better="lower", reference="Raiden settleChannel 108,569"),
        Metric("channels.gas.open", unit="gas", better="lower", reference="Raiden openChannel 111,094"),
    ]
)
def bench_gas(ctx) -> dict[str, float]:
    return measure_gas(ctx.chain())
