"""The `Design` interface: what a Layer-2 design offers the commands, and the types they trade in.

A design is one package under `l2/designs/` (plus `contracts/<name>/` and `tests/designs/<name>/`)
that builds one `Design` value and is listed once in `l2/designs/__init__.py`. The commands (demo,
gas report, bench, sandbox, compare, deploy) iterate that registry; none of them imports a design
package, and a design imports no command. Everything here is imported lazily by the design's own
functions, so `l2 --help` does not load py-evm for every design.

What a design offers:
- `name` (CLI name, metric prefix, contracts/ folder), `title`, `trust` (one line: who must be honest
  or online, and for how long);
- `contracts`: its part of the deployment plan;
- `demo(story) -> payments made`: its acts of `l2 demo`;
- `scenarios()`: its gas-report scenarios;
- `bench_module`: the module whose `@benchmark`s measure it, every metric named `<name>.…`;
- `sandbox(env) -> SandboxPart`: its objects, services, banner and status lines in `l2 sandbox`;
- `adapter(env) -> WorkloadAdapter`: how `l2 compare` runs the common workload through it;
- `commands`: `l2` subcommands of its own (the optimistic rollup's `l2 verify`).
- `evm`: the oldest fork (EVM version) its contracts run on, and what they need from it.
- `missing()`: why it cannot run here (a tool it needs is missing), or None: then the registry leaves it out.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from l2.l1.accounts import NamedAccount
from l2.l1.chain import Chain
from l2.l1.deploy import ContractSpec
from l2.l1.evm import EvmRequirement
from l2.runtime.service import Service

TOKEN_UNIT = 10**18  # the test token has 18 decimals


# --- l2 bench ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    name: str  # "section.metric", the key in the JSON output; a design's metrics start with its name
    unit: str
    target: float | None = None
    better: str = "higher"  # or "lower"
    reference: str = ""  # a figure to compare with, and where it comes from

    def meets_target(self, value: float) -> bool | None:
        if self.target is None:
            return None
        return value >= self.target if self.better == "higher" else value <= self.target


def beside_commit_metrics(design: str, what: str, cap: float) -> list[Metric]:
    """The two figures a durable speed of `what`s a second comes with (see `BenchContext.durable_beside`);
    `cap` is the ratio at which the disk's fsyncs alone would set the speed."""
    return [
        Metric(f"{design}.durable_over_commit_rate", unit="x", better="higher",
               reference=f"durable {what}/s over the commits/s beside them ({cap:.1f} = the disk's cap)"),
        Metric(f"{design}.commits_per_s_beside", unit="commits/s",
               reference="fsynced SQLite commits in the durable run's folder, just before and after it (mean)"),
    ]


@dataclass
class Benchmark:
    fn: Callable[[BenchContext], dict[str, float]]
    metrics: list[Metric]

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__name__}"


BENCHMARKS: list[Benchmark] = []


def benchmark(metrics: list[Metric]):
    """Register a benchmark function `fn(ctx) -> {metric name: value}` (it may return more figures
    than it declares; declared ones get a target and a reference in the table)."""

    def register(fn):
        BENCHMARKS.append(Benchmark(fn, list(metrics)))
        return fn

    return register


@dataclass
class BenchContext:
    """What a benchmark gets: the quick flag, a shared embedded chain, the results so far."""

    quick: bool = False
    results: dict[str, float] = field(default_factory=dict)
    _chain: Chain | None = None

    def durable_beside(self, design: str, folder: Path, run: Callable[[], float]) -> tuple[float, dict[str, float]]:
        """`run()`, a durable speed writing in `folder`, and the figures of `beside_commit_metrics`: the
        fsynced commits a second in that folder just before and just after it (their mean), and the speed
        over them. This disk's rate moves from minute to minute, so a durable figure is read against the
        commit rate of its own moment, not of another benchmark's."""
        from l2.runtime.store import commits_per_second

        count = 100 if self.quick else 300
        before = commits_per_second(folder, count)
        speed = run()
        commits = (before + commits_per_second(folder, count)) / 2
        return speed, {f"{design}.commits_per_s_beside": commits, f"{design}.durable_over_commit_rate": speed / commits}

    def chain(self) -> Chain:
        """A shared embedded chain; the harness reverts it after each benchmark."""
        if self._chain is None:
            from l2.l1.chain import EmbeddedChain

            self._chain = EmbeddedChain()
        return self._chain


# --- l2 gas-report -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    story: str
    run: Callable[[Chain], object]  # what it returns is not used


# --- l2 demo ---------------------------------------------------------------------------------------

@dataclass
class Story:
    """What every act needs: the chain, where to print, the seeded randomness, the cast and the sizes."""

    chain: Chain
    console: Console
    rng: random.Random
    deployment: dict[str, str]
    accounts: dict[str, NamedAccount]  # operator (the deployer), challenger, alice, bob, carol, dave
    unit: int  # amounts are counted in this (1 ETH on a dev chain)
    payments: int
    batch_size: int
    acts: int = 0

    def act(self, title: str) -> None:
        self.acts += 1
        self.console.rule(f"[bold]Act {self.acts}. {title}")

    @contextlib.contextmanager
    def progress(self, description: str, total: int):
        """Yields `advance()`; a live bar on a terminal, nothing at all off one (logs stay clean)."""
        if not self.console.is_terminal:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda: bar.advance(task)

    def token_amount(self, amount: int) -> str:
        return f"{amount / TOKEN_UNIT:,.2f} TST"


# --- l2 sandbox ------------------------------------------------------------------------------------

@dataclass
class SandboxEnv:
    """What the sandbox gives each design: Layer 1 with the contracts deployed, the named accounts,
    the test token (minted to every user), a folder for databases, and the lock its services share."""

    chain: Chain
    workdir: Path
    lock: threading.RLock
    addresses: dict[str, str]  # contract name -> address, the whole deployment
    token: Any  # the TestToken contract
    operator: NamedAccount  # the deployer; the rollup's sequencer
    challenger: NamedAccount
    users: dict[str, NamedAccount]  # alice, bob, carol, dave
    unit: int  # 1 ETH on a dev chain, less on a real node
    console: Console  # where helpers print
    step: Callable[[], None]  # run every service now (a helper may want the operators to catch up first)
    batch_time: float = 5.0
    max_batch: int = 256


@dataclass
class SandboxPart:
    """A design's share of a sandbox session."""

    objects: dict[str, object]  # names the console starts with (its helpers included)
    services: list[Service]  # run by the operators' thread and by step(), in this order
    contracts: list[str]  # its lines of the banner's "contracts" section: "registry 0x… (ChannelRegistry)"
    banner: list[str]  # its own section of the banner, already indented
    helpers: list[str]  # signatures of its helpers, for the banner: "pay(payer, receiver, wei)"
    columns: list[str]  # its columns of the accounts table
    cells: Callable[[str, str], list[str]]  # (name, address) -> one cell per column
    status: Callable[[], list[str]]  # lines under the accounts table
    close: Callable[[], None] = lambda: None  # databases to close when the session ends


# --- l2 compare ------------------------------------------------------------------------------------

@dataclass
class CompareEnv:
    """What `l2 compare` gives each design: Layer 1 with the contracts deployed (from a snapshot of
    its own), the participants (funded on Layer 1), the operator and a folder for databases."""

    chain: Chain
    workdir: Path
    addresses: dict[str, str]
    operator: NamedAccount
    challenger: NamedAccount
    participants: dict[str, NamedAccount]


class WorkloadAdapter(Protocol):
    """How the common workload runs through one design. Amounts are wei of ETH."""

    holders: list[str]  # the Layer-1 contracts that hold the design's funds, for the conservation check
    payment_final_after: int  # chain seconds until a payment cannot be undone (the design's windows)

    def enter(self, deposits: dict[str, int]) -> None:
        """Each participant moves its deposit from Layer 1 into the design."""

    def pay(self, payer: str, payee: str, amount: int) -> None:
        """One off-chain payment between participants."""

    def settle(self) -> None:
        """Whatever puts the payments on Layer 1 (a rollup posts its batches; a channel needs nothing)."""

    def exit(self) -> None:
        """Everyone takes everything back to Layer 1, waiting out the design's windows on the chain."""

    def balance(self, name: str) -> int:
        """What `name` holds inside the design now."""


# --- the design ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    name: str
    title: str
    trust: str
    contracts: tuple[ContractSpec, ...]
    demo: Callable[[Story], int]
    scenarios: Callable[[], list[Scenario]]
    bench_module: str
    sandbox: Callable[[SandboxEnv], SandboxPart]
    adapter: Callable[[CompareEnv], WorkloadAdapter]
    # ETH the deployer must keep for this design (a proposer's bond) when named accounts are topped up.
    operator_reserve: Callable[[Chain, dict[str, str]], int] = lambda chain, addresses: 0
    # Commands of its own: (name, module with add_arguments(parser) and run(args), help).
    commands: tuple[tuple[str, str, str], ...] = ()
    # The oldest fork its contracts run on and what they need from it: `--evm-version` older than that,
    # or a node older than that, is refused in one line before anything is deployed.
    evm: EvmRequirement = EvmRequirement()
    # Why it cannot run here (a tool it needs is missing), or None: the registry leaves such a design out of
    # DESIGNS, so every command runs the others (an installed wheel has no node or circuits for the zk-rollup).
    missing: Callable[[], str | None] = lambda: None

    def __post_init__(self):
        # Its contracts carry the requirement into the deploy plan, where deploy_all checks it.
        stamped = replace(self.evm, who=self.evm.who or self.title)
        object.__setattr__(self, "contracts", tuple(replace(spec, evm=stamped) for spec in self.contracts))

    def benchmarks(self) -> list[Benchmark]:
        """Its `@benchmark`s (importing `bench_module` registers them)."""
        importlib.import_module(self.bench_module)
        package = self.bench_module.rsplit(".", 1)[0] + "."  # and those it imports from its own package
        return [b for b in BENCHMARKS if b.fn.__module__.startswith(package)]
