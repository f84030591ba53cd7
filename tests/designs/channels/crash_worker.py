"""Subprocess for the crash test: both ends of a channel pay each other forever, each with its own
SQLite store, printing the nonce after every acknowledged payment, until the parent SIGKILLs it."""

from __future__ import annotations

import json
import sys

from l2.designs.channels.messages import ChannelDomain
from l2.designs.channels.party import Party
from l2.designs.channels.rules import ChannelParams, Funding
from l2.designs.channels.storage import ChannelStore


def main() -> None:
    config = json.loads(sys.argv[1])
    params = ChannelParams.from_json(config["params"])
    domain = ChannelDomain(config["chain_id"], config["registry"])
    funding = Funding(**config["funding"])
    party_a = Party(params, domain, bytes.fromhex(config["key_a"]), store=ChannelStore(config["db_a"]), funding=funding)
    party_b = Party(params, domain, bytes.fromhex(config["key_b"]), store=ChannelStore(config["db_b"]), funding=funding)
    i = 0
    while True:
        payer, receiver, amount = (party_a, party_b, 3) if i % 3 else (party_b, party_a, 2)
        payer.receive_ack(receiver.receive(payer.pay(amount)))
        i += 1
        print(party_a.nonce, flush=True)


if __name__ == "__main__":
    main()
