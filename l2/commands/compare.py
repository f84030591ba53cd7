"""`l2 compare`: one seeded workload through every registered design, on the same Layer 1.

The workload: the participants (alice, bob, carol, dave) each bring a deposit from Layer 1, make
`--payments` payments of random sizes between random pairs, then everyone takes everything back to
Layer 1. Each design runs it from the same snapshot of the deployed contracts, through its
`WorkloadAdapter`, so every row is measured the same way on the same chain:

- Layer-1 gas to enter, operate (payments and whatever puts them on Layer 1) and exit, and per payment;
- bytes posted to Layer 1 (the input of every transaction) and the number of Layer-1 transactions;
- how long until a payment is final and until an exit is paid, in chain seconds with the design's
  windows (10 minutes for the rollup here, 7 days in production);
- off-chain payments a second (wall clock, the payments alone);
- the design's trust assumption;
- conservation to the wei: what everyone and the design's contracts held before = after + fees, and
  each participant ends with exactly its deposit's worth plus what it received minus what it paid.

A new design adds its row by registering.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from l2.errors import InputError, L2Error
from l2.files import check_writable, write_atomic

PARTICIPANTS = ("alice", "bob", "carol", "dave")
MAX_PAYMENTS = 100_000


class ConservationError(L2Error):
    """A design did not give back to the wei what the workload put in and moved."""


@dataclass(frozen=True)
class Workload:
    participants: tuple[str, ...]
    deposit: int  # wei each participant brings
    payments: tuple[tuple[str, str, int], ...]  # (payer, payee, wei)

    def net(self, name: str) -> int:
        """What `name` received minus what it paid."""
        return sum(a for _, to, a in self.payments if to == name) - sum(a for p, _, a in self.payments if p == name)


def make_workload(payments: int, seed: int, deposit: int, participants=PARTICIPANTS) -> Workload:
    """`payments` random payments between random pairs; amounts of 0.1% to 1% of a deposit with three
    significant digits (every design can encode them). A payment that would overdraw the payer in the
    pair's own share (a channel per pair holds deposit / (participants - 1) a side) goes the other way."""
    if not 1 <= payments <= MAX_PAYMENTS:
        raise InputError(f"--payments must be between 1 and {MAX_PAYMENTS:,}, got {payments}")
    rng = random.Random(seed)
    share = deposit // (len(participants) - 1)
    held: dict[tuple[str, str], int] = {}
    out = []
    for _ in range(payments):
        payer, payee = rng.sample(participants, 2)
        amount = _three_digits(rng.randint(deposit // 1000, deposit // 100))
        if held.get((payer, payee), share) < amount:
            payer, payee = payee, payer
        held[(payer, payee)] = held.get((payer, payee), share) - amount
        held[(payee, payer)] = held.get((payee, payer), share) + amount
        out.append((payer, payee, amount))
    return Workload(tuple(participants), deposit, tuple(out))


def _three_digits(value: int) -> int:
    digits = len(str(value))
    step = 10 ** max(digits - 3, 0)
    return max(value // step * step, 1)


@dataclass
class Row:
    design: str
    title: str
    trust: str
    payments: int
    enter_gas: int
    operate_gas: int
    exit_gas: int
    gas_per_payment: float
    bytes_posted: int
    l1_transactions: int
    payment_final_s: int
    exit_paid_s: int
    offchain_payments_per_s: float
    conserved: bool

    @property
    def total_gas(self) -> int:
        return self.enter_gas + self.operate_gas + self.exit_gas


def run_design(design, chain, addresses: dict[str, str], workload: Workload, accounts: dict, workdir: Path) -> Row:
    """The workload through one design, from the chain's current state (the caller snapshots)."""
    from l2.designs.api import CompareEnv

    participants = {name: accounts[name] for name in workload.participants}
    env = CompareEnv(chain, workdir, addresses, accounts["operator"], accounts["challenger"], participants)
    adapter = design.adapter(env)
    watched = {**{a.address: name for name, a in accounts.items()}, **{h: h for h in adapter.holders}}
    before = {address: chain.balance(address) for address in watched}
    phases: dict[str, list] = {}
    with chain.record() as phases["enter"]:
        adapter.enter({name: workload.deposit for name in participants})
    with chain.record() as phases["operate"]:
        start = time.perf_counter()
        for payer, payee, amount in workload.payments:
            adapter.pay(payer, payee, amount)
        offchain = time.perf_counter() - start
        adapter.settle()
    exit_started = chain.now()
    with chain.record() as phases["exit"]:
        adapter.exit()
    exit_paid = chain.now() - exit_started
    txs = [t for records in phases.values() for t in records]
    fees = sum(t.fee_wei for t in txs)
    after = {address: chain.balance(address) for address in watched}
    problems = []
    if sum(before.values()) != sum(after.values()) + fees:
        problems.append(f"before {sum(before.values()):,} wei != after {sum(after.values()):,} + fees {fees:,}")
    for name, account in participants.items():
        paid = sum(t.fee_wei for t in txs if t.sender == account.address)
        expected = before[account.address] + workload.net(name) - paid
        if after[account.address] != expected or adapter.balance(name) != 0:
            problems.append(f"{name} ends with {after[account.address]:,} wei on Layer 1, expected {expected:,}")
    if problems:
        raise ConservationError(f"{design.name}: funds not conserved: {'; '.join(problems)}")
    gas_of = {phase: sum(t.gas_used for t in records) for phase, records in phases.items()}
    return Row(design.name, design.title, design.trust, len(workload.payments), gas_of["enter"], gas_of["operate"],
               gas_of["exit"], sum(gas_of.values()) / len(workload.payments), sum(t.calldata_bytes for t in txs),
               len(txs), adapter.payment_final_after, exit_paid, len(workload.payments) / offchain if offchain else 0.0,
               True)


def compare(chain, payments: int = 200, seed: int = 1, progress=lambda text: None, reuse: bool = False,
            manifest: Path | None = None) -> list[Row]:
    """Deploy once (or, with `reuse`, take the node's manifest's contracts), then run the workload through every
    registered design from that same state."""
    from l2.commands.demo import STORY_CLOCK
    from l2.designs import DESIGNS, deployment_plan
    from l2.l1.accounts import cast, unit_for
    from l2.l1.deploy import contracts_for

    unit = unit_for(chain)
    workload = make_workload(payments, seed, unit)
    if chain.is_embedded and chain.now() < STORY_CLOCK:
        # Ahead of the wall clock py-evm stamps each block parent + 1 s: the same run, the same seconds.
        chain.advance_time(STORY_CLOCK - chain.now())
    progress("checking the manifest's contracts" if reuse else "deploying the Layer-1 contracts")
    results = contracts_for(chain, deployment_plan(), reuse, manifest, log=progress)
    addresses = {r.name: r.record["address"] for r in results}
    reserve = 2 * sum(d.operator_reserve(chain, addresses) for d in DESIGNS)
    accounts = cast(chain, 3 * unit, reserve=reserve, users=PARTICIPANTS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="l2-compare-") as tmp:
        for design in DESIGNS:
            progress(f"running the workload through {design.title}")
            snapshot = chain.snapshot()
            try:
                workdir = Path(tmp) / design.name
                workdir.mkdir()
                rows.append(run_design(design, chain, addresses, workload, accounts, workdir))
            finally:
                chain.revert(snapshot)
    return rows


def _duration(seconds: int) -> str:
    if seconds == 0:
        return "at once"
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds / 60:,.1f} min" if seconds < 7200 else f"{seconds / 3600:,.1f} h"


def print_rows(console, rows: list[Row]) -> None:
    from l2.output import gas, table

    t = table(f"l2 compare: {rows[0].payments:,} payments between {len(PARTICIPANTS)} participants, then everyone "
              "exits", "design", "L1 gas: enter", "operate", "exit", "per payment", "bytes to L1", "L1 txs",
              "payment final", "exit paid", "conserved")
    for r in rows:
        t.add_row(r.title, gas(r.enter_gas), gas(r.operate_gas), gas(r.exit_gas), gas(r.gas_per_payment),
                  f"{r.bytes_posted:,}", f"{r.l1_transactions:,}", _duration(r.payment_final_s),
                  _duration(r.exit_paid_s), "to the wei" if r.conserved else "NO")
    console.print(t)
    for r in rows:
        console.print(f"{r.title}: trusts {r.trust}", highlight=False, soft_wrap=True)
    speeds = table("Off-chain speed, wall clock", "design", "payments a second")
    for r in rows:
        speeds.add_row(r.title, f"{r.offchain_payments_per_s:,.0f}")
    console.print(speeds)


METRICS = (("total_gas", "Layer-1 gas, whole workload"), ("gas_per_payment", "Layer-1 gas per payment"),
           ("bytes_posted", "bytes posted to Layer 1"), ("l1_transactions", "Layer-1 transactions"),
           ("exit_paid_s", "chain seconds until an exit is paid"),
           ("offchain_payments_per_s", "off-chain payments a second"))


def plot(rows: list[Row], path) -> None:
    """A bar chart per metric, on a log scale where the values span two decades or more."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7), dpi=110)
    for ax, (attr, label) in zip(axes.flat, METRICS, strict=True):
        values = [float(getattr(r, attr)) for r in rows]
        ax.bar([r.design for r in rows], values, color=["#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd",
                                                        "#8c564b"][:len(rows)])
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) >= 100:
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        for i, v in enumerate(values):
            ax.annotate(f"{v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"l2 compare: {rows[0].payments:,} payments, every registered design on one Layer 1")
    fig.tight_layout()
    tmp = Path(str(path) + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


# --- `l2 compare` ----------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from l2.l1.chain import add_chain_arguments
    from l2.l1.deploy import add_reuse_arguments

    parser.add_argument("--payments", type=int, default=200, metavar="N", help="payments in the workload (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="the workload's randomness: same seed, same payments")
    parser.add_argument("--json", metavar="FILE", help="also write the figures per design as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="a bar chart per metric (needs matplotlib)")
    add_chain_arguments(parser)
    add_reuse_arguments(parser)


def run(args) -> int:
    from l2.l1.chain import layer1_for
    from l2.l1.deploy import check_reuse_arguments
    from l2.output import make_console

    make_workload(args.payments, args.seed, 10**18)  # a bad --payments fails before anything starts
    check_reuse_arguments(args)
    for path in filter(None, (args.json, args.plot)):
        check_writable(path)
    if args.plot:
        from l2.commands.plot import check_plot_possible

        check_plot_possible(args.plot)
    console = make_console()
    with layer1_for(args) as chain:
        rows = compare(chain, args.payments, args.seed, progress=lambda text: console.print(f"[dim]{text}…"),
                       reuse=args.reuse, manifest=args.manifest)
    print_rows(console, rows)
    if args.json:
        write_atomic(args.json, json.dumps({r.design: {**asdict(r), "total_gas": r.total_gas}
                                            for r in rows}, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    if args.plot:
        plot(rows, args.plot)
        console.print(f"drew {args.plot}")
    return 0
