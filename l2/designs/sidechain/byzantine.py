"""A validator's own key turned against the protocol, for the demo and tests: two different prevotes for one
height and round, handed to its peers the way any validator sends votes (a JSON line on their peer port).

The honest validators judge the votes by their signatures alone, record the pair as evidence, and their
reporters get the signer slashed on Layer 1 (reporter.py). Nothing here is special to them: a byzantine
validator would do exactly this.
"""

from __future__ import annotations

import socket

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain.errors import NodeUnavailable
from l2.designs.sidechain.messages import NIL, PREVOTE, Domain, Vote, sign_vote
from l2.designs.sidechain.p2p import CONNECT_TIMEOUT, HOST, encode


def double_prevote(key: bytes, domain: Domain, height: int, round_: int = 0) -> tuple[Vote, Vote]:
    """Two prevotes of the key's validator for `height`/`round_`: one for no block, one for a block that
    does not exist. Either is slashable beside the other (and beside whatever the honest process signs)."""
    signer = Signer(key)
    made_up = keccak(b"a block nobody proposed at %d" % height)
    return (sign_vote(signer, domain, height, round_, PREVOTE, NIL),
            sign_vote(signer, domain, height, round_, PREVOTE, made_up))


def deliver(p2p_ports: list[int], votes: tuple[Vote, ...]) -> None:
    """Each vote to each port, as a peer sends it; NodeUnavailable if no validator took them."""
    lines = b"".join(encode({"type": "vote", **v.to_json()}) for v in votes)
    delivered = 0
    for port in p2p_ports:
        try:
            with socket.create_connection((HOST, port), timeout=CONNECT_TIMEOUT) as sock:
                sock.sendall(lines)
            delivered += 1
        except OSError:
            continue  # that validator is down: the others still see the fault
    if not delivered:
        raise NodeUnavailable(f"no validator took the votes on peer ports {p2p_ports}")
