"""`l2 gas-report`: gas per contract function, measured over the scenarios, like `forge test --gas-report`.

Every scenario runs real parties against freshly deployed contracts on one chain;
`chain.record()` keeps every mined transaction, and the report groups them per
contract and function: calls, min, mean, median, max, plus each contract's
deployment cost and runtime size. Only transactions count: a view call costs no
gas on Layer 1, and a call between contracts inside a transaction is part of the
outer function's gas (forge traces those too; eth-tester cannot trace). The
scenarios come from the design registry, so a new design adds its own.
"""

from __future__ import annotations

import io
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from l2.designs.api import Scenario
from l2.errors import InputError
from l2.files import check_writable, write_atomic
from l2.l1.chain import Chain, TxRecord, add_chain_arguments, layer1_for
from l2.output import gas, make_console


def _demo(chain: Chain) -> None:
    from l2.commands.demo import run_demo

    run_demo(chain, Console(file=io.StringIO()), part="all", payments=40, batch_size=16, seed=1)


def scenarios() -> list[Scenario]:
    """Every registered design's own scenarios, then the demo's story. The story goes last because its
    sidechain act runs validator processes on the wall clock: how many Layer-1 blocks their checkpoints take
    varies, and every scenario after it would start at another block and time (and so cost a few gas more or
    less from run to run)."""
    from l2.designs import DESIGNS

    demo = Scenario("demo", "the demo's story, small (40 payments, batches of 16): every design's acts", _demo)
    return [*(scenario for design in DESIGNS for scenario in design.scenarios()), demo]


@dataclass(frozen=True)
class FunctionGas:
    calls: int
    min: int
    mean: float
    median: float
    max: int

    @classmethod
    def of(cls, used: list[int]) -> FunctionGas:
        return cls(len(used), min(used), statistics.fmean(used), statistics.median(used), max(used))


@dataclass(frozen=True)
class ContractGas:
    name: str
    source: str  # "contracts/optimistic/OptimisticRollup.sol"
    deployment: FunctionGas | None  # the constructor's gas over the deployments seen
    size: int  # bytes of runtime code
    functions: dict[str, FunctionGas]


def select(names: list[str] | None) -> list[Scenario]:
    if not names:
        return scenarios()
    known = {s.name: s for s in scenarios()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown scenario {unknown[0]!r}; known: {', '.join(known)}")
    return [known[n] for n in dict.fromkeys(names)]


def measure(chain: Chain, scenarios: list[Scenario], progress: Callable[[str], None] = lambda name: None
            ) -> tuple[list[ContractGas], list[TxRecord]]:
    """Run `scenarios` on `chain`; returns the per-contract figures and the raw transactions."""
    from l2.commands.demo import STORY_CLOCK

    if chain.is_embedded and chain.now() < STORY_CLOCK:
        # Ahead of the wall clock py-evm stamps each block parent + 1 s, so timestamps (which reach calldata
        # and storage) and the gas they cost are the same in every run, as in the demo.
        chain.advance_time(STORY_CLOCK - chain.now())
    with chain.record() as txs:
        for scenario in scenarios:
            progress(scenario.name)
            scenario.run(chain)
    return group(chain, txs), txs


def group(chain: Chain, txs: list[TxRecord]) -> list[ContractGas]:
    """Successful transactions per contract and function; contracts in source order."""
    by_contract: dict[str, dict[str, list[int]]] = {}
    for tx in txs:
        if tx.status == 1:
            by_contract.setdefault(tx.contract, {}).setdefault(tx.function, []).append(tx.gas_used)
    out = []
    for name, functions in by_contract.items():
        deployments = functions.pop("constructor", None)
        artifact = chain.artifacts[name] if name in chain.artifacts else None
        out.append(ContractGas(
            name or "(plain ETH transfers)",
            artifact.source if artifact else "",
            FunctionGas.of(deployments) if deployments else None,
            len(artifact.runtime_bytecode) if artifact else 0,
            {fn: FunctionGas.of(used) for fn, used in sorted(functions.items())},
        ))
    return sorted(out, key=lambda c: (c.source.startswith("contracts/test/"), c.source, c.name))


def to_json(contracts: list[ContractGas], scenarios: list[Scenario]) -> dict:
    def figures(f: FunctionGas) -> dict:
        return {"calls": f.calls, "min": f.min, "mean": f.mean, "median": f.median, "max": f.max}

    return {
        "scenarios": [s.name for s in scenarios],
        "contracts": {
            c.name: {
                "source": c.source,
                "deployment": None if c.deployment is None else {**figures(c.deployment), "size": c.size},
                "functions": {fn: figures(f) for fn, f in c.functions.items()},
            }
            for c in contracts
        },
    }


def render(console: Console, contracts: list[ContractGas], scenarios: list[Scenario], transactions: int) -> None:
    from rich.table import Table

    console.print(f"l2 gas report: {transactions:,} Layer-1 transactions over {len(scenarios)} scenario(s)",
                  highlight=False)
    for s in scenarios:
        console.print(f"  {s.name}: {s.story}", highlight=False)
    for c in contracts:
        title = f"{c.source}:{c.name}" if c.source else c.name
        table = Table(title=title, title_justify="left", caption_justify="left", min_width=len(title))
        for column in ("function", "calls", "min", "mean", "median", "max"):
            table.add_column(column, justify="left" if column == "function" else "right")
        if c.deployment is not None:
            d = c.deployment
            table.add_row("(deployment)", str(d.calls), gas(d.min), gas(d.mean), gas(d.median), gas(d.max),
                          style="dim")
            table.caption = f"runtime code: {c.size:,} bytes"
        for fn, f in c.functions.items():
            table.add_row(fn, str(f.calls), gas(f.min), gas(f.mean), gas(f.median), gas(f.max))
        console.print(table)
    console.print("Counted: the function each transaction called (a view call costs no gas on Layer 1; a call one "
                  "contract makes to another inside a transaction is counted under the outer function, not traced "
                  "as forge does). Reverted calls are refused at gas estimation, never mined, so never counted.",
                  style="dim")


# --- `l2 gas-report` -------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--scenario", metavar="NAME", action="append",
                        help=f"run only this scenario (repeatable): {', '.join(s.name for s in scenarios())}")
    add_chain_arguments(parser)


def run(args) -> int:
    scenarios = select(args.scenario)
    if args.json:
        check_writable(args.json)  # before the scenarios run, not after
    console = make_console()
    with layer1_for(args) as chain:
        contracts, txs = measure(chain, scenarios, progress=lambda name: console.print(f"[dim]running {name}…"))
    render(console, contracts, scenarios, len(txs))
    if args.json:
        write_atomic(args.json, json.dumps(to_json(contracts, scenarios), indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0
