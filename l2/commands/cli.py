"""The `l2` command: sandbox, demo, gas-report, bench, compile, deploy, verify, console.

Each command lives with what it runs: a module with `add_arguments(parser)` and
`run(args) -> exit code`. This file only dispatches, and keeps the promise every
command makes: an `L2Error` (or any other failure) is one line on stderr and exit
code 1, bad usage is one line and exit code 2, and a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from l2 import __version__
from l2.errors import L2Error

# (name, module, help): the module has add_arguments(parser) and run(args) -> int.
COMMANDS: list[tuple[str, str, str]] = [
    ("sandbox", "l2.commands.sandbox", "Layer 1, the contracts and running Layer-2 operators, in a Python console"),
    ("demo", "l2.commands.demo", "the whole story end to end: channels, disputes, rollup batches, fraud proofs"),
    ("gas-report", "l2.commands.gas_report", "gas per contract function over the scenarios, like forge --gas-report"),
    ("bench", "l2.commands.bench", "measured figures against their targets and reference systems"),
    ("compile", "l2.l1.compiler", "compile contracts/ from source (ignores the cache)"),
    ("deploy", "l2.commands.deploy", "deploy the Layer-1 contracts and write the manifest"),
    ("compare", "l2.commands.compare", "one seeded workload through every Layer-2 design on the same Layer 1"),
    ("console", "l2.commands.console", "a Python console with only the chain and the project loaded"),
]


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not the usage block plus a line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="l2", description="Layer 2 on Layer 1: payment channels, an optimistic rollup, "
                            "state channels, a sidechain and a zk-rollup, side by side on one Layer 1.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    parser.add_argument("--version", action="version", version=f"l2 {__version__}")
    # Also accepted after the command (`l2 demo --debug`); SUPPRESS keeps it from resetting the top-level flag.
    common = ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from l2.designs import DESIGNS

    for name, module_name, text in [*COMMANDS, *(command for d in DESIGNS for command in d.commands)]:
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=text, description=text, parents=[common])
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # building the parser imports every command (web3, py-evm): a second or so a Ctrl-C may land in
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        _report(None, "interrupted")
        return 130
    try:
        return args.run(args)
    except L2Error as exc:
        _report(args, str(exc))
        return 1
    except KeyboardInterrupt:
        _report(args, "interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line; --debug shows where
        _report(args, f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1


def _report(args, message: str) -> None:
    """One `error:` line on stderr (the traceback too with --debug); `args` is None before they are parsed."""
    if getattr(args, "debug", False):
        traceback.print_exc()
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"error: {first}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
