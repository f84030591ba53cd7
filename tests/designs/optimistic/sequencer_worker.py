"""A sequencer in its own process, for the crash test: `python sequencer_worker.py RPC_URL ROLLUP DB`.

Reads hex-encoded submissions on stdin, one per line, and answers `ok <seq>` once each is durably
accepted (or `err <message>`). The test kills it with SIGKILL at an arbitrary point.
"""

import sys

from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.errors import L2Error
from l2.l1.chain import RpcChain


def main(url: str, rollup_address: str, db_path: str) -> None:
    chain = RpcChain(url)
    sequencer = Sequencer(RollupClient(chain, rollup_address), chain.accounts[1], db_path)
    sequencer.sync_queue()
    print("ready", flush=True)
    for line in sys.stdin:
        try:
            seq = sequencer.submit(bytes.fromhex(line.strip()))
        except L2Error as exc:
            print(f"err {exc}", flush=True)
            continue
        print(f"ok {seq}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
