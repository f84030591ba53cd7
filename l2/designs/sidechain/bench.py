"""Sidechain benchmarks: Layer-1 gas of checkpoints by validator count (beside Polygon Edge's), of a deposit and
an exit; and, with validator processes on 127.0.0.1 and the embedded Layer 1 behind the gateway, block time,
committed transfers per second, deposit latency (locked on Layer 1 -> spendable on the sidechain, including the
confirmation depth) and exit latency (burn sent -> paid on Layer 1, including the checkpoint)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from eth_account import Account

from l2.designs.api import Metric, benchmark
from l2.designs.sidechain.gas import POLYGON_EDGE, checkpoint_gas
from l2.designs.sidechain.scenarios import bridge_paths
from l2.designs.sidechain.session import SIDECHAIN_GAS_MONEY, Sidechain

ETHER = 10**18


@benchmark(
    [Metric(f"sidechain.gas.checkpoint_validators_{n}", unit="gas", target=edge, better="lower",
            reference=f"Polygon Edge {edge:,} (anchors.md)") for n, edge in POLYGON_EDGE.items()]
    + [Metric("sidechain.gas.deposit", unit="gas", better="lower", reference="first ETH deposit of an account"),
       Metric("sidechain.gas.exit", unit="gas", better="lower", reference="Plasma-style exits ~400k (anchors.md)"),
       Metric("sidechain.gas.slash", unit="gas", better="lower")]
)
def bench_gas(ctx) -> dict[str, float]:
    chain = ctx.chain()
    out: dict[str, float] = {}
    for n in POLYGON_EDGE:
        out[f"sidechain.gas.checkpoint_validators_{n}"] = float(checkpoint_gas(chain, n).all_signing)
    snapshot = chain.snapshot()
    try:
        paths = bridge_paths(chain)
    finally:
        chain.revert(snapshot)
    out["sidechain.gas.deposit"] = float(paths.deposit)
    out["sidechain.gas.exit"] = float(paths.exit)
    out["sidechain.gas.slash"] = float(paths.slash)
    return out


@benchmark([
    Metric("sidechain.block_time_s", unit="s", better="lower", reference="Polygon PoS ~2 s"),
    Metric("sidechain.tx_per_s", unit="tx/s", better="higher",
           reference="committed transfers sent by one client to one validator"),
    Metric("sidechain.deposit_latency_s", unit="s", better="lower", reference="Polygon PoS ~7-8 min"),
    Metric("sidechain.exit_latency_s", unit="s", better="lower", reference="Polygon PoS ~45 min to 3 h"),
])
def bench_cluster(ctx) -> dict[str, float]:
    validators, window, transfers = (2, 2.0, 40) if ctx.quick else (4, 10.0, 300)
    user = Account.create()
    chain = ctx.chain()
    chain.send_eth(chain.accounts[0], user.address, 10 * ETHER)
    with tempfile.TemporaryDirectory(prefix="l2-sidechain-bench-") as tmp, \
            Sidechain(chain, Path(tmp), validators=validators, alloc={user.address: SIDECHAIN_GAS_MONEY}) as sc:
        start_height, started = sc.height(), time.monotonic()
        time.sleep(window)
        blocks = sc.height() - start_height
        block_time = (time.monotonic() - started) / max(blocks, 1)
        sent = time.monotonic()
        for _ in range(transfers):
            sc.send(user, chain.accounts[1].address, 1)
        sc.wait_sent()
        tx_per_s = transfers / (time.monotonic() - sent)
        sc.deposit(user, ETHER)
        deposit_latency = sc.wait_deposits()
        burned_at = time.monotonic()
        sc.withdraw(user, ETHER // 2)
        sc.exit(user, sc.wait_sent()[-1])
        exit_latency = time.monotonic() - burned_at
    return {"sidechain.block_time_s": block_time, "sidechain.tx_per_s": tx_per_s,
            "sidechain.deposit_latency_s": deposit_latency, "sidechain.exit_latency_s": exit_latency,
            "sidechain.validators": float(validators)}
