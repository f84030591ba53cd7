"""`l2 sidechain up`: start N sidechain validators, each its own process on 127.0.0.1, staked in a StakeManager
on Layer 1 (the embedded chain, served to them and to you by a gateway; a node at --rpc-url; or an anvil
started here), and keep them running until Ctrl-C (or --seconds), then stop them all.

It prints each validator's JSON-RPC URL (web3.py or ethers connect to any of them like to any node), the
Layer-1 contracts and URL, and one line per checkpoint the validators land on Layer 1. On a dev chain it
mines a Layer-1 block a second, so deposits reach their confirmation depth without other traffic.
"""

from __future__ import annotations

import time

from l2.errors import InputError

MAX_VALIDATORS = 30
STATUS_EVERY = 1.0  # seconds between looks at Layer 1
UP_INTERVAL = 32  # sidechain blocks per checkpoint: one every few seconds, not every block or two


def add_arguments(parser) -> None:
    from l2.l1.chain import add_chain_arguments

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="start the validators and keep them running until Ctrl-C",
                        description="start the validators and keep them running until Ctrl-C")
    up.add_argument("--validators", type=int, default=4, metavar="N",
                    help=f"validator processes, each staked on Layer 1 (default 4, at most {MAX_VALIDATORS})")
    up.add_argument("--workdir", metavar="DIR",
                    help="keep the validators' configuration, keys, databases and logs here (default: a temporary "
                         "folder, removed on exit)")
    up.add_argument("--seconds", type=float, default=0, metavar="S",
                    help="stop after S seconds (default 0: until Ctrl-C)")
    add_chain_arguments(up)


def _check(args) -> None:
    if not 1 <= args.validators <= MAX_VALIDATORS:
        raise InputError(f"--validators must be between 1 and {MAX_VALIDATORS}, got {args.validators}")
    if args.seconds < 0:
        raise InputError(f"--seconds must be 0 (until Ctrl-C) or more, got {args.seconds:g}")


def run(args) -> int:
    import contextlib
    import tempfile
    from pathlib import Path

    from l2.designs.sidechain.session import Sidechain
    from l2.l1.chain import layer1_for
    from l2.output import make_console

    _check(args)
    console = make_console()
    with contextlib.ExitStack() as stack:
        chain = stack.enter_context(layer1_for(args))
        dev = chain.is_embedded or getattr(chain, "is_dev_node", False)
        workdir = Path(args.workdir) if args.workdir else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="l2-sidechain-")))
        console.print(f"Layer 1: {chain.describe()}", highlight=False)
        sc = stack.enter_context(Sidechain(chain, workdir, validators=args.validators,
                                           signer_gas=10**18 if dev else 10**16, dev=dev, interval=UP_INTERVAL))
        assert sc.cluster is not None
        l1_url = sc.gateway.url if sc.gateway is not None else getattr(chain, "url", "")
        console.print(f"StakeManager {sc.l1.stake_manager.address}, DepositManager {sc.l1.deposit_manager.address} "
                      f"(Layer-1 JSON-RPC {l1_url})", highlight=False)
        console.print(f"sidechain chain id {sc.l1.sidechain_id}: {args.validators} validators, logs in {workdir}",
                      highlight=False)
        for i, signer in enumerate(sc.signers):
            console.print(f"  validator {i} {signer.address} {sc.cluster.rpc_url(i)}", highlight=False)
        console.print("running: Ctrl-C stops them all" if not args.seconds else f"running for {args.seconds:g} s",
                      highlight=False)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        seen, down = 0, set()
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(STATUS_EVERY)
                if dev:
                    chain.mine(1)
                checkpoints = sc.l1.checkpoints()
                for number, cp in checkpoints[seen:]:
                    console.print(f"checkpoint {number} on Layer 1: sidechain blocks {cp.start}..{cp.end}",
                                  highlight=False)
                seen = len(checkpoints)
                for i in range(args.validators):
                    if not sc.cluster.alive(i) and i not in down:
                        down.add(i)
                        console.print(f"validator {i} is down: see {sc.cluster.log_path(i)}", highlight=False)
        except KeyboardInterrupt:
            console.print("stopping the validators", highlight=False)
        height = sc.height()
    console.print(f"stopped {args.validators} validators at sidechain height {height}", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m l2.designs.sidechain.cli up ...`: the same command where the registry does not list the
    sidechain (yet); errors are one line and a non-zero exit code, as under `l2`."""
    import argparse
    import sys

    from l2.errors import L2Error

    parser = argparse.ArgumentParser(prog="l2 sidechain", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except L2Error as exc:
        print(f"error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
