"""`make demo` / `l2 demo`: the main job, end to end, on the embedded chain.

Compile, deploy the project's Layer-1 contracts, then run each protocol's
demo section (channels, rollup) against the same chain.
"""

from __future__ import annotations

import importlib

from rich.console import Console
from rich.table import Table

from l2.chain import Chain
from l2.compiler import compile_project
from l2.deploy import deploy_all

# Each module has `run(chain, console, deployment)`, deployment = {contract name: address} of the
# contracts deployed above; the protocol packages add theirs.
DEMO_SECTIONS: list[str] = ["l2.channels.demo", "l2.rollup.demo"]


def run_demo(chain: Chain, console: Console) -> None:
    console.rule("[bold]l2 demo: Layer 2 on top of Layer 1")
    artifacts = compile_project()
    console.print(
        f"compiled {len(artifacts.contracts)} contracts with solc {artifacts.compiler_version} "
        f"(evm prague) for {chain.describe()}"
    )
    results, _ = deploy_all(chain)
    table = Table(title="Layer-1 contracts deployed")
    for column in ("contract", "address", "gas used", "source"):
        table.add_column(column)
    for r in results:
        table.add_row(r.name, r.record["address"], f"{r.record['gasUsed']:,}", r.record["source"])
    console.print(table)
    deployment = {r.name: r.record["address"] for r in results}
    for module_name in DEMO_SECTIONS:
        importlib.import_module(module_name).run(chain, console, deployment)
    console.rule("[bold green]demo finished")


# --- `l2 demo` -------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from l2.chain import add_chain_arguments

    parser.add_argument("part", nargs="?", choices=("channels", "rollup", "all"), default="all",
                        help="which story to run (default: all)")
    add_chain_arguments(parser)


def run(args) -> int:
    from l2.chain import layer1_for
    from l2.output import make_console

    with layer1_for(args) as chain:
        run_demo(chain, make_console())
    return 0
