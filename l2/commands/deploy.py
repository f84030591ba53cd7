"""`l2 deploy` and `scripts/deploy.py`: deploy the foundation's and every registered design's contracts.

The work (plan, manifest, what is unchanged) is `l2.l1.deploy`; this is the command around it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from l2.designs import deployment_plan
from l2.errors import L2Error
from l2.l1.chain import add_chain_arguments, connect
from l2.l1.deploy import deploy_all, manifest_for


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploy.py", description="Deploy the l2 Layer-1 contracts and record them in a manifest."
    )
    add_deploy_arguments(parser)
    return parser


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    add_chain_arguments(parser, anvil=False)
    parser.add_argument("--out", type=Path,
                        help="manifest file (default: deployments/<chainId>-<genesis>.json for RPC chains)")
    parser.add_argument("--force", action="store_true", help="redeploy everything and replace the manifest")


add_arguments = add_deploy_arguments  # `l2 deploy`


def run_deploy(args: argparse.Namespace, print_line: Callable[[str], None] = print) -> int:
    chain = connect(args.rpc_url, args.private_key_env, args.evm_version)
    try:
        out, previous = args.out, None
        if out is None and not chain.is_embedded:
            out, previous = manifest_for(chain, print_line)
        print_line(f"deploying to {chain.describe()} from {chain.accounts[0].address}")
        results, _ = deploy_all(chain, out=out, force=args.force, plan=deployment_plan(), log=print_line,
                                previous_path=previous)
        counts = {status: sum(r.status == status for r in results) for status in ("deployed", "recovered")}
        recovered = f", {counts['recovered']} deployed by the interrupted run" if counts["recovered"] else ""
        print_line(
            f"{counts['deployed']} deployed{recovered}, {len(results) - sum(counts.values())} unchanged"
            + (f"; manifest {out}" if out is not None else " (embedded chain: no manifest)")
        )
        return 0
    finally:
        chain.close()


def run(args: argparse.Namespace) -> int:
    """`l2 deploy`."""
    return run_deploy(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_deploy(args)
    except L2Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; run it again to resume (the journal beside the manifest says what was sent)",
              file=sys.stderr)
        return 1
