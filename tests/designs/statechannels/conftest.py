"""State-channel fixtures: one Adjudicator and the two apps per session; helpers to open a funded channel."""

from __future__ import annotations

import itertools

import pytest

from l2.designs.statechannels.party import connect, setup
from l2.designs.statechannels.rules import ZERO_ADDRESS, FixedPart, Phase, RPSData

ETHER = 10**18
DURATION = 100
STAKE = ETHER // 10
_nonces = itertools.count(1)


@pytest.fixture(scope="session")
def contracts(chain):
    return {"adjudicator": chain.deploy("Adjudicator"), "rps": chain.deploy("RockPaperScissors"),
            "payment": chain.deploy("SingleDirectionPayment"), "ledger": chain.deploy("ConsensusApp")}


@pytest.fixture(scope="session")
def anvil_contracts(anvil_chain):
    """The same contracts on anvil, for what needs a real node (another process sharing Layer 1)."""
    return {"adjudicator": anvil_chain.deploy("Adjudicator"), "rps": anvil_chain.deploy("RockPaperScissors"),
            "payment": anvil_chain.deploy("SingleDirectionPayment"), "ledger": anvil_chain.deploy("ConsensusApp")}


@pytest.fixture(scope="session")
def node_contracts(node_chain):
    """The same contracts on each real node (anvil, the Hardhat node): tests taking them run once per node."""
    return {"adjudicator": node_chain.deploy("Adjudicator"), "rps": node_chain.deploy("RockPaperScissors"),
            "payment": node_chain.deploy("SingleDirectionPayment"), "ledger": node_chain.deploy("ConsensusApp")}


@pytest.fixture(scope="session")
def adjudicator(contracts):
    return contracts["adjudicator"]


@pytest.fixture(scope="session")
def alice(chain):
    return chain.accounts[1]


@pytest.fixture(scope="session")
def bob(chain):
    return chain.accounts[2]


@pytest.fixture(scope="session")
def mallory(chain):
    return chain.accounts[3]


@pytest.fixture(scope="session")
def hub_account(chain):
    return chain.accounts[4]


def open_channel(chain, contracts, a, b, *, app="rps", deposits=(ETHER, ETHER), duration=DURATION, stake=STAKE,
                 asset=ZERO_ADDRESS, stores=(None, None), fund=True):
    """A set-up (and, with `fund`, funded) channel between a and b: (party of a, party of b)."""
    fixed = FixedPart((a.address, b.address), next(_nonces), contracts[app].address, duration, asset)
    pa = connect(chain, contracts["adjudicator"], fixed, app, a, store=stores[0])
    pb = connect(chain, contracts["adjudicator"], fixed, app, b, store=stores[1])
    app_data = RPSData(Phase.START, stake).encode() if app == "rps" else b""
    setup([pa, pb], tuple(deposits), app_data)
    if fund:
        held = 0
        for party, amount in zip((pa, pb), deposits, strict=True):
            if amount:
                party.deposit(amount, held)
                held += amount
    return pa, pb


@pytest.fixture(name="open_channel")
def open_channel_fixture():
    return open_channel
