"""Participant 0 of a channel in its own process, over loopback TCP: `python peer_worker.py CONFIG_JSON`.

It opens (or restores, after a SIGKILL) its SQLite store, dials the test's listener, sends its newest own
move again if it was waiting for an answer, then makes its move (pays 1 wei, or its rock-paper-scissors
move: commit or reveal) and waits for the answer, `moves` times. The test kills it at a random moment
and starts it again."""

from __future__ import annotations

import json
import sys

from l2.designs.statechannels.messages import Domain
from l2.designs.statechannels.party import Party
from l2.designs.statechannels.rules import FixedPart
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.transport import dial


def main() -> None:
    config = json.loads(sys.argv[1])
    key = bytes.fromhex(config["key"])
    store = StateStore(config["db"])
    if store.load() is None:
        party = Party(FixedPart.from_json(config["fixed"]), config["app"],
                      Domain(config["chainId"], config["adjudicator"]), key, store=store)
    else:
        party = Party.restore(store, key)
    connection = dial(config["port"])
    if party.latest is not None and not party.my_turn:
        connection.send(party.resend())  # the payee may never have seen it, or we missed its answer
        party.receive(connection.receive(timeout=10))
    for _ in range(config["moves"]):
        connection.send(party.pay(1) if party.app == "payment" else party.play())
        party.receive(connection.receive(timeout=10))
    connection.close()


if __name__ == "__main__":
    main()
