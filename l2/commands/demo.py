"""`make demo` / `l2 demo [DESIGN|all]`: the whole story, end to end, on a real Layer 1.

Compile, deploy the Layer-1 contracts, then the acts of each registered design
(`Design.demo`), then a summary: the Layer-1 gas the story spent against
what the same payments would have cost as plain Layer-1 transfers, and every
balance before and after, with the conservation of ETH and tokens checked:
what everyone held before = what everyone holds after + the fees paid for gas.

`--payments`, `--batch-size` and `--seed` fix the story: the same three give the
same payments, and on the embedded chain the same gas and balances to the wei
(only timings differ). Timestamps reach calldata (a cooperative close's expiry,
the queue entries a fraud proof carries), so the embedded chain's clock is set to
STORY_CLOCK first: ahead of the wall clock, py-evm then stamps every block
parent + 1 second, whenever the demo runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from l2.designs import DESIGNS, deployment_plan
from l2.designs.api import TOKEN_UNIT, Story
from l2.errors import InputError
from l2.l1.accounts import USERS, cast, unit_for
from l2.l1.chain import Chain
from l2.l1.deploy import contracts_for
from l2.output import eth, gas, table

PLAIN_TRANSFER_GAS = 21_000  # what one payment costs as a plain Layer-1 ETH transfer
MAX_PAYMENTS = 100_000
MAX_BATCH_SIZE = 1024
STORY_CLOCK = 4_102_444_800  # 2100-01-01 00:00 UTC


@dataclass
class ProtocolFigures:
    name: str
    payments: int  # L2 payments made
    l1_gas: int  # gas of every Layer-1 transaction of its acts

    @property
    def plain_l1_gas(self) -> int:
        return self.payments * PLAIN_TRANSFER_GAS

    @property
    def saving(self) -> float:
        return self.plain_l1_gas / self.l1_gas if self.l1_gas else 0.0


@dataclass
class Holding:
    """What one actor or contract held on Layer 1 before and after the story."""

    name: str
    eth_before: int
    eth_after: int
    tokens_before: int
    tokens_after: int


@dataclass
class DemoSummary:
    protocols: list[ProtocolFigures]
    holdings: list[Holding]
    fees_wei: int
    transactions: int
    conserved: bool = field(init=False)

    def __post_init__(self):
        eth_ok = sum(h.eth_before for h in self.holdings) == sum(h.eth_after for h in self.holdings) + self.fees_wei
        tokens_ok = sum(h.tokens_before for h in self.holdings) == sum(h.tokens_after for h in self.holdings)
        self.conserved = eth_ok and tokens_ok

    def figures(self) -> dict:
        """Everything that must repeat for the same seed and sizes (no timings)."""
        return {
            "protocols": [(p.name, p.payments, p.l1_gas) for p in self.protocols],
            "holdings": [(h.name, h.eth_before, h.eth_after, h.tokens_before, h.tokens_after) for h in self.holdings],
            "fees": self.fees_wei,
            "transactions": self.transactions,
        }


def check_sizes(payments: int, batch_size: int) -> None:
    if not 1 <= payments <= MAX_PAYMENTS:
        raise InputError(f"--payments must be between 1 and {MAX_PAYMENTS:,}, got {payments}")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}, got {batch_size}")


def run_demo(chain: Chain, console: Console, *, part: str = "all", payments: int = 1000, batch_size: int = 250,
             seed: int = 1, reuse: bool = False, manifest: Path | None = None) -> DemoSummary:
    """Tell the story (`part`: a registered design's name, or "all") and return its summary figures; with
    `reuse`, on the contracts of the node's manifest (or `manifest`) rather than freshly deployed ones."""
    check_sizes(payments, batch_size)
    names = [d.name for d in DESIGNS]
    if part != "all" and part not in names:
        raise InputError(f"unknown part {part!r}: choose {', '.join(names)} or all")
    designs = [d for d in DESIGNS if part in ("all", d.name)]
    console.rule("[bold]l2 demo: Layer 2 on top of Layer 1")
    if chain.is_embedded and chain.now() < STORY_CLOCK:
        chain.advance_time(STORY_CLOCK - chain.now())
    chain.check_evm([spec.evm for spec in deployment_plan()])  # before compiling for a fork a design cannot use
    artifacts = chain.artifacts  # built for --evm-version
    console.print(f"compiled {len(artifacts.contracts)} contracts with solc {artifacts.compiler_version} "
                  f"(evm {artifacts.evm_version}) for {chain.describe()}; {payments:,} payments, rollup batches of "
                  f"{batch_size}, seed {seed}", highlight=False)
    notes: list[str] = []
    results = contracts_for(chain, deployment_plan(), reuse, manifest, log=notes.append)
    for note in notes:
        console.print(note, highlight=False)
    deployed = table("Layer-1 contracts reused" if reuse else "Layer-1 contracts deployed", "contract", "address",
                     "gas used", "source")
    for r in results:
        deployed.add_row(r.name, r.record["address"], gas(r.record["gasUsed"]), r.record["source"])
    console.print(deployed)

    story = _cast(chain, console, {r.name: r.record["address"] for r in results}, payments, batch_size, seed)
    watched = {**story.accounts, **{spec.name: None for d in DESIGNS for spec in d.contracts}}
    before = _holdings(story, watched)
    figures: list[ProtocolFigures] = []
    fees = count = 0
    for design in designs:
        with chain.record() as txs:
            made = design.demo(story)
        figures.append(ProtocolFigures(design.title, made, sum(t.gas_used for t in txs)))
        fees += sum(t.fee_wei for t in txs)
        count += len(txs)
    after = _holdings(story, watched)
    summary = DemoSummary(
        figures,
        [Holding(name, before[name][0], after[name][0], before[name][1], after[name][1]) for name in watched],
        fees,
        count,
    )
    _print_summary(story, summary)
    return summary


def _cast(chain: Chain, console: Console, deployment: dict[str, str], payments: int, batch_size: int,
          seed: int) -> Story:
    """The actors, funded: a dev chain's accounts, or keys derived from the deployer's on another node."""
    unit = unit_for(chain)
    reserve = 2 * sum(d.operator_reserve(chain, deployment) for d in DESIGNS)
    accounts = cast(chain, 30 * unit, reserve=reserve)
    token = chain.contract("TestToken", deployment["TestToken"])
    for name in USERS:
        chain.transact(token.functions.mint(accounts[name].address, 1000 * TOKEN_UNIT), accounts["operator"])
    # the operator holds a few too: a rollup sequencer opens a fee account in each token it takes
    chain.transact(token.functions.mint(accounts["operator"].address, 10 * TOKEN_UNIT), accounts["operator"])
    return Story(chain, console, random.Random(seed), deployment, accounts, unit, payments, batch_size)


def _holdings(story: Story, watched: dict) -> dict[str, tuple[int, int]]:
    """name -> (ETH, tokens) on Layer 1, for every actor and the two protocol contracts."""
    token = story.chain.contract("TestToken", story.deployment["TestToken"])
    out = {}
    for name, account in watched.items():
        address = account.address if account is not None else story.deployment[name]
        out[name] = (story.chain.balance(address), story.chain.call(token.functions.balanceOf(address)))
    return out


def _print_summary(story: Story, summary: DemoSummary) -> None:
    console = story.console
    console.rule("[bold]Summary")
    console.print("Layer-1 gas of the whole story, against the same payments made as plain Layer-1 transfers:",
                  highlight=False)
    costs = table("Layer-1 gas", "protocol", "L2 payments", "Layer-1 gas spent",
                  f"as plain transfers ({PLAIN_TRANSFER_GAS:,} each)",
                  "saving")
    for p in summary.protocols:
        costs.add_row(p.name, f"{p.payments:,}", gas(p.l1_gas), gas(p.plain_l1_gas), f"{p.saving:,.1f}x")
    if len(summary.protocols) > 1:
        total = ProtocolFigures("total", sum(p.payments for p in summary.protocols),
                                sum(p.l1_gas for p in summary.protocols))
        costs.add_row("total", f"{total.payments:,}", gas(total.l1_gas), gas(total.plain_l1_gas),
                      f"{total.saving:,.1f}x", style="bold")
    console.print(costs)
    console.print("Layer-1 gas spent counts every transaction of the acts: opening, deposits, batches, the fraud "
                  "proof, settlements and claims.", style="dim")

    balances = table("Balances on Layer 1", "", "ETH before", "ETH after", "change",
                     "TST before", "TST after")
    for h in summary.holdings:
        balances.add_row(h.name, eth(h.eth_before), eth(h.eth_after), _signed(h.eth_after - h.eth_before),
                         story.token_amount(h.tokens_before), story.token_amount(h.tokens_after))
    balances.add_row("fees paid for gas", "", "", _signed(-summary.fees_wei), "", "")
    eth_before = sum(h.eth_before for h in summary.holdings)
    eth_after = sum(h.eth_after for h in summary.holdings)
    tokens_before = sum(h.tokens_before for h in summary.holdings)
    tokens_after = sum(h.tokens_after for h in summary.holdings)
    balances.add_row("total", eth(eth_before), eth(eth_after), _signed(eth_after - eth_before),
                     story.token_amount(tokens_before), story.token_amount(tokens_after), style="bold")
    console.print(balances)
    if summary.conserved:
        console.print(f"[green]conserved: ETH before = ETH after + {summary.fees_wei:,} wei of fees "
                      f"({summary.transactions} transactions), to the wei; tokens before = tokens after")
    else:
        console.print(f"[red bold]NOT conserved: ETH before {eth_before:,} wei, after {eth_after:,} wei + fees "
                      f"{summary.fees_wei:,} wei; tokens before {tokens_before:,}, after {tokens_after:,}")
    console.rule("[bold green]demo finished" if summary.conserved else "[bold red]demo finished: funds not conserved")


def _signed(wei: int) -> str:
    return ("+" if wei > 0 else "") + eth(wei)


# --- `l2 demo` -------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from l2.designs import DESIGNS
    from l2.l1.chain import add_chain_arguments
    from l2.l1.deploy import add_reuse_arguments

    parser.add_argument("part", nargs="?", choices=(*(d.name for d in DESIGNS), "all"), default="all",
                        help="which design's story to tell (default: all)")
    parser.add_argument("--payments", type=int, default=1000, metavar="N",
                        help="payments in the channel, and transfers on the rollup (default 1000)")
    parser.add_argument("--batch-size", type=int, default=250, metavar="N",
                        help=f"rollup transactions per batch, 1 to {MAX_BATCH_SIZE} (default 250)")
    parser.add_argument("--seed", type=int, default=1, help="the story's randomness: same seed, same story")
    add_chain_arguments(parser)
    add_reuse_arguments(parser)


def run(args) -> int:
    from l2.l1.chain import layer1_for
    from l2.l1.deploy import check_reuse_arguments
    from l2.output import make_console

    check_sizes(args.payments, args.batch_size)  # before anything starts
    check_reuse_arguments(args)
    with layer1_for(args) as chain:
        summary = run_demo(chain, make_console(), part=args.part, payments=args.payments,
                           batch_size=args.batch_size, seed=args.seed, reuse=args.reuse, manifest=args.manifest)
    return 0 if summary.conserved else 1
