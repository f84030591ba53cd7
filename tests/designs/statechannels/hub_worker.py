"""A hub in its own process, for the SIGKILL test: `python hub_worker.py CONFIG_JSON`.

It rebuilds its hub from its two ledger files (`Hub.restore`), connected to the test's anvil node, prints
`{"ready": true}`, then takes one request a line on stdin and answers one JSON line on stdout:
`setup` (check and store a virtual channel's setup), `countersign` (Alice's L_A update funding her
guarantee), `propose` (its own L_B update funding Bob's), `take` (Bob's signature on it). A refused request is
answered `{"error": <class name>}`. The test kills it with SIGKILL between two answers.
"""

from __future__ import annotations

import json
import sys

from eth_account import Account

from l2.designs.statechannels.messages import decode_move
from l2.designs.statechannels.rules import FixedPart
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.virtual import Hub
from l2.errors import L2Error
from l2.l1.chain import RpcChain


def answer(hub: Hub, request: dict) -> dict:
    channel_id = bytes.fromhex(request["channelId"].removeprefix("0x"))
    if request["do"] == "setup":
        proof = [decode_move(move)[1:] for move in request["proof"]]
        hub.check_setup(FixedPart.from_json(request["fixed"]), proof, int(request["amount"]))
        return {"checked": request["channelId"]}
    if request["do"] == "countersign":
        return hub.countersign_guarantee(request["move"], channel_id)
    if request["do"] == "propose":
        return hub.propose_guarantee(channel_id)
    if request["do"] == "take":
        hub.with_bob.take(request["move"])
        return {"funded": request["channelId"]}
    raise ValueError(f"unknown request {request['do']}")


def main() -> None:
    config = json.loads(sys.argv[1])
    chain = RpcChain(config["url"])
    adjudicator = chain.contract("Adjudicator", config["adjudicator"])
    hub = Hub.restore(StateStore(config["dbA"]), StateStore(config["dbB"]), chain, adjudicator,
                      Account.from_key(bytes.fromhex(config["key"])), payment_app=config["payment"],
                      max_challenge_duration=config["maxDuration"])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            reply = answer(hub, json.loads(line))
        except L2Error as exc:
            reply = {"error": type(exc).__name__}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
