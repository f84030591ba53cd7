"""A zk-rollup operator in its own process, for the SIGKILL test:
`python operator_worker.py RPC_URL ROLLUP DB FEE_INDEX`.

Reads one request per line on stdin: a transfer (the operator database's JSON form) answered `ok` once it is
durably accepted (or `err <message>`), or `step`, answered `stepped` after a batch is proven and posted.
"""

import sys

from l2.designs.zk import circuit
from l2.designs.zk.l1 import ZkRollupClient
from l2.designs.zk.operator import Operator, decode_transfer
from l2.errors import L2Error
from l2.l1.chain import RpcChain


def main(url: str, rollup_address: str, db_path: str, fee_index: str) -> None:
    chain = RpcChain(url)
    rollup = ZkRollupClient(chain, rollup_address)
    operator = Operator(rollup, chain.accounts[1], circuit.prover_for(rollup.shape), db_path,
                        fee_index=int(fee_index))
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "step":
            events = operator.step(urgent=True)
            print("stepped " + " | ".join(str(e) for e in events), flush=True)
            continue
        try:
            operator.submit(decode_transfer(line))
        except L2Error as exc:
            print(f"err {exc}", flush=True)
            continue
        print("ok", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
