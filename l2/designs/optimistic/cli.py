"""`l2 verify`: check a deployed rollup from Layer-1 data alone, and prove fraud if asked to.

Anyone can run it against any node: it reads the rollup's events and the calldata of its batches,
replays every commitment with the same rules as the sequencer (transfers, roots and aggregate BLS
signatures), and prints one line per batch. With `--challenge` it proves the first fraudulent commitment
with the transition or the signature proof (commit, then reveal in a later block)
with the account of `--private-key-env` (a dev node's first account by default).

Exit codes: 0 when every standing batch re-executes to its committed roots (or every fraud found was
proven); 1, with one `error:` line, when a batch cannot be rebuilt from Layer 1
(BatchDataUnavailable), when fraud is found and not proven, or on any other error. A checker that
cannot check must never look like one that found nothing.
"""

from __future__ import annotations

import time

from l2.errors import InputError, L2Error
from l2.l1.chain import add_chain_arguments, layer1_for

DEFAULT_INTERVAL = 5.0


class UnprovenFraud(L2Error):
    """The challenger found a fraudulent batch and did not (or could not) prove it on Layer 1."""


def add_arguments(parser) -> None:
    add_chain_arguments(parser, anvil=False)
    parser.add_argument("--rollup", metavar="ADDRESS",
                        help="the OptimisticRollup contract (default: the one in this node's manifest, "
                             "deployments/<chainId>-<genesis>.json)")
    parser.add_argument("--challenge", action="store_true",
                        help="prove fraud on Layer 1 with the account of --private-key-env (a dev node's first "
                             "account by default): commit, then reveal in a later block")
    parser.add_argument("--rounds", type=int, default=1, metavar="N",
                        help="check N times (default 1; 0 = until interrupted)")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                        help=f"pause between rounds (default {DEFAULT_INTERVAL:g})")


def _rollup_address(chain, given: str | None) -> str:
    if given is not None:
        return given
    from l2.l1.deploy import manifest_for, read_manifest

    _, path = manifest_for(chain)  # this node's manifest, by chain id and genesis
    manifest = read_manifest(path)
    record = (manifest or {}).get("contracts", {}).get("OptimisticRollup")
    if record is None:
        raise InputError(f"no --rollup given and no OptimisticRollup in {path}: deploy first or pass --rollup ADDRESS")
    return record["address"]


def run(args) -> int:
    from eth_utils import is_address

    from l2.designs.optimistic.challenger import Challenger
    from l2.designs.optimistic.l1 import RollupClient

    if args.rollup is not None and not is_address(args.rollup):
        raise InputError(f"--rollup is not an address: {args.rollup!r}")
    if args.rounds < 0 or args.interval < 0:
        raise InputError("--rounds and --interval cannot be negative")
    with layer1_for(args) as chain:
        address = _rollup_address(chain, args.rollup)
        if not chain.w3.eth.get_code(address):
            raise InputError(f"no contract at {address} on {chain.describe()}")
        rollup = RollupClient(chain, address)
        challenger = Challenger(rollup, chain.accounts[0] if args.challenge else None)
        print(f"verifying rollup {rollup.address} on {chain.describe()} from Layer-1 data alone", flush=True)
        round_ = 0
        while True:
            round_ += 1
            # BatchDataUnavailable propagates: one error line, exit 1; so does a proof Layer 1 refuses.
            for event in challenger.step():
                print(event.text, flush=True)
            if challenger.frauds:
                batch = next(iter(challenger.frauds.values())).batch.header[0]
                raise UnprovenFraud(f"batch #{batch} is fraudulent and was not proven: run with --challenge to "
                                    "prove it")
            if args.rounds and round_ >= args.rounds:
                return 0
            time.sleep(args.interval)
