"""The `l2` command: compile, deploy, demo, bench, console.

Every `L2Error` becomes one line on stderr and exit code 1; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from l2.errors import L2Error
from l2.files import check_writable, write_atomic


def make_console():
    """A rich console; off a terminal (CI logs, pipes) wide enough that tables are not cropped to 80 columns."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def cmd_compile(args) -> int:
    from l2.compiler import compile_project

    artifacts = compile_project(force=True)
    print(f"compiled {len(artifacts.contracts)} contracts with solc {artifacts.compiler_version}")
    for warning in artifacts.warnings:
        print(f"warning: {warning.splitlines()[0]}")
    return 0


def cmd_deploy(args) -> int:
    from l2.deploy import run_deploy

    return run_deploy(args)


def cmd_demo(args) -> int:
    from l2.chain import connect
    from l2.demo import run_demo

    chain = connect(args.rpc_url, args.private_key_env)
    try:
        run_demo(chain, make_console())
    finally:
        chain.close()
    return 0


def cmd_bench(args) -> int:
    from rich.table import Table

    from l2.bench import format_value, run_benchmarks

    if args.json:
        check_writable(args.json)  # before minutes of benchmarks, not after
    console = make_console()
    rows, failures = run_benchmarks(
        quick=args.quick, only=args.only, progress=lambda name: console.print(f"[dim]running {name}…")
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
    if args.json:
        flat = {row.name: row.value for row in rows}
        write_atomic(args.json, json.dumps(flat, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {len(flat)} metrics to {args.json}")
    for failure in failures:
        print(f"error: benchmark failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def cmd_console(args) -> int:
    import code

    from l2.chain import connect

    chain = connect(args.rpc_url, args.private_key_env)
    namespace = {"chain": chain, "w3": chain.w3, "accounts": chain.accounts, "artifacts": chain.artifacts}
    banner = (
        f"l2 console on {chain.describe()}\n"
        "names: chain (deploy, transact, call, snapshot, revert, advance_time, mine), w3, accounts, artifacts"
    )
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from l2.deploy import add_deploy_arguments

    parser = argparse.ArgumentParser(prog="l2", description="Layer 2 on Layer 1: channels and an optimistic rollup.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile contracts/ from source (ignores the cache)")
    p.set_defaults(fn=cmd_compile)

    p = sub.add_parser("deploy", help="deploy the Layer-1 contracts and write the manifest")
    add_deploy_arguments(p)
    p.set_defaults(fn=cmd_deploy)

    for name, fn, text in (
        ("demo", cmd_demo, "run the end-to-end demo"),
        ("console", cmd_console, "a Python console with the chain and the project loaded"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--rpc-url", help="JSON-RPC node (default: embedded py-evm chain)")
        p.add_argument("--private-key-env", metavar="NAME", help="environment variable with the private key")
        p.set_defaults(fn=fn)

    p = sub.add_parser("bench", help="run the benchmarks and compare with their targets")
    p.add_argument("--json", metavar="FILE", help="also write {metric: value} as JSON")
    p.add_argument("--quick", action="store_true", help="fewer iterations (for smoke runs)")
    p.add_argument(
        "--only", metavar="PREFIX", action="append", help="only metrics starting with PREFIX (repeatable), e.g. channels."
    )
    p.set_defaults(fn=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except L2Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
