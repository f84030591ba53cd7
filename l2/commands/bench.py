"""The benchmark harness behind `l2 bench`.

Speed and gas targets are measured here, never by timed tests. Each protocol
package registers its benchmarks with `@benchmark(metrics=[...])`; a metric
declares its unit, its target and the reference figure it is compared with
(quoted from shared/docs/anchors.md with its source). `l2 bench` prints the
table; `--json FILE` writes a flat `{"section.metric": number}` object.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from l2.designs.api import BenchContext, Benchmark, Metric, benchmark
from l2.errors import InputError
from l2.files import check_writable, write_atomic
from l2.output import make_console


@dataclass
class Row:
    name: str
    value: float
    metric: Metric | None


def load_benchmarks() -> list[Benchmark]:
    """The foundation's benchmarks (this module's), then each registered design's."""
    from l2.designs import DESIGNS

    return [b for b in _foundation()] + [b for design in DESIGNS for b in design.benchmarks()]


def _foundation() -> list[Benchmark]:
    from l2.designs.api import BENCHMARKS

    return [b for b in BENCHMARKS if b.fn.__module__ == __name__]


def run_benchmarks(
    quick: bool = False, only: list[str] | None = None, progress: Callable[[str], None] = lambda s: None
):
    """Run every registered benchmark (or those with a metric starting with a prefix in `only`)."""
    ctx = BenchContext(quick=quick)
    rows: list[Row] = []
    failures: list[str] = []
    selected = [
        b for b in load_benchmarks() if not only or any(m.name.startswith(p) for m in b.metrics for p in only)
    ]
    if not selected:
        raise InputError(f"no benchmark matches {only!r}")
    # The machine's own figures run first, always: durable speeds are reported beside the disk's commit rate.
    machine = [b for b in load_benchmarks() if any(m.name.startswith("machine.") for m in b.metrics)]
    selected = machine + [b for b in selected if b not in machine]
    for bench in selected:
        progress(bench.name)
        chain = ctx.chain()
        snapshot = chain.snapshot()
        try:
            values = bench.fn(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            failures.append(f"{bench.name}: {type(exc).__name__}: {exc}")
            continue
        finally:
            chain.revert(snapshot)
        declared = {m.name: m for m in bench.metrics}
        for name, value in values.items():
            ctx.results[name] = value
            rows.append(Row(name, float(value), declared.get(name)))
    return rows, failures


# --- the foundation's own benchmarks ------------------------------------------------------

@benchmark(
    metrics=[
        Metric(
            "l1.eth_transfer_tx_per_s",
            unit="tx/s",
            reference="~150/s with coincurve on embedded py-evm (anchors.md, 'Limits measured')",
        ),
        Metric("l1.eth_transfer_gas", unit="gas", better="lower",
               reference="a plain L1 transfer costs 21,000 (anchors.md)"),
    ]
)
def bench_eth_transfers(ctx: BenchContext) -> dict[str, float]:
    """Plain ETH transfers signed locally and sent through web3, each waited for, on the chain in use."""
    chain = ctx.chain()
    sender, receiver = chain.accounts[0], chain.accounts[1]
    count = 40 if ctx.quick else 200
    warm = chain.send_eth(sender, receiver.address, 1)  # warm caches before timing
    start = time.perf_counter()
    for _ in range(count):
        chain.send_eth(sender, receiver.address, 1)
    return {"l1.eth_transfer_tx_per_s": count / (time.perf_counter() - start), "l1.eth_transfer_gas": warm.gasUsed}


@benchmark(
    metrics=[
        Metric("machine.sqlite_commits_per_s", unit="commits/s",
               reference="fsynced SQLite commits (WAL, synchronous=FULL) on this disk in this run: "
                         "the cap of every durable speed (DEVELOPERS.md: ~500-1,200 here)"),
    ]
)
def bench_sqlite_commits(ctx: BenchContext) -> dict[str, float]:
    """One-row commits, each fsynced, in a temporary folder on the same disk the operators use."""
    import tempfile
    from pathlib import Path

    from l2.runtime.store import commits_per_second

    return {"machine.sqlite_commits_per_s": commits_per_second(Path(tempfile.gettempdir()), 100 if ctx.quick else 500)}


@benchmark(metrics=[Metric("build.compile_s_cold", unit="s", better="lower",
                           reference="solc-js 0.8.30, all contracts, one call")])
def bench_compile_cold(ctx: BenchContext) -> dict[str, float]:
    """Full compile of contracts/ from source, bypassing the artifact cache."""
    from l2.l1.compiler import compile_project

    start = time.perf_counter()
    compile_project(force=True)
    return {"build.compile_s_cold": time.perf_counter() - start}


def format_value(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


# --- `l2 bench` ------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write {metric: value} as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (for smoke runs)")
    parser.add_argument(
        "--only", metavar="PREFIX", action="append",
        help="only metrics starting with PREFIX (repeatable), e.g. channels."
    )
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw Layer-1 gas per L2 transfer against batch size, beside a channel and plain L1 "
                        "(needs matplotlib: the `plot` extra)")


def run(args) -> int:
    from rich.table import Table

    only = args.only
    for path in filter(None, (args.json, args.plot)):
        check_writable(path)  # before minutes of benchmarks, not after
    if args.plot:
        from l2.commands.plot import NEEDED, check_plot_possible

        check_plot_possible(args.plot)
        if only:
            only = [*only, *NEEDED]  # the plot's figures come from this run
    console = make_console()
    rows, failures = run_benchmarks(
        quick=args.quick, only=only, progress=lambda name: console.print(f"[dim]running {name}…")
    )
    table = Table(title="l2 bench" + (" (quick)" if args.quick else ""))
    for column in ("metric", "measured", "unit", "target", "ok", "reference"):
        table.add_column(column)
    for row in rows:
        metric = row.metric
        target = ""
        ok = ""
        if metric is not None and metric.target is not None:
            target = ("≥ " if metric.better == "higher" else "≤ ") + format_value(metric.target)
            ok = "[green]yes" if metric.meets_target(row.value) else "[red]no"
        table.add_row(
            row.name,
            format_value(row.value),
            metric.unit if metric else "",
            target,
            ok,
            metric.reference if metric else "",
        )
    console.print(table)
    flat = {row.name: row.value for row in rows}
    if args.json:
        write_atomic(args.json, json.dumps(flat, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {len(flat)} metrics to {args.json}")
    if args.plot:
        from l2.commands.plot import plot_gas_per_transfer

        plot_gas_per_transfer(flat, args.plot)
        console.print(f"drew {args.plot}")
    for failure in failures:
        print(f"error: benchmark failed: {failure}", file=sys.stderr)
    return 1 if failures else 0
