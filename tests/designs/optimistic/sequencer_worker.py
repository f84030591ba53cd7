"""A sequencer in its own process, for the crash test:
`python sequencer_worker.py RPC_URL ROLLUP DB`.

Reads `<transfer hex> <nonce> <signature hex>` lines on stdin and answers `ok <seq>` once each is
journaled (or `err <message>`). The test kills it with SIGKILL at an arbitrary point.
"""

import sys

from l2.designs.optimistic.encoding import Transfer
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.errors import L2Error
from l2.l1.chain import RpcChain


def main(url: str, rollup_address: str, db_path: str) -> None:
    chain = RpcChain(url)
    sequencer = Sequencer(RollupClient(chain, rollup_address), chain.accounts[8], 1, db_path)
    print("ready", flush=True)
    for line in sys.stdin:
        body, nonce, signature = line.split()
        try:
            seq = sequencer.submit(Transfer.decode(bytes.fromhex(body)), int(nonce), bytes.fromhex(signature))
        except L2Error as exc:
            print(f"err {exc}", flush=True)
            continue
        print(f"ok {seq}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
