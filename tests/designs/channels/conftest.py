"""Channel fixtures: one registry and two tokens per session; helpers to open a channel and pay."""

from __future__ import annotations

import pytest

from l2.designs.channels.party import Party, pay
from l2.designs.channels.rules import ZERO_ADDRESS

MIN_PERIOD, MAX_PERIOD = 10, 30 * 24 * 3600
PERIOD = 100
ETHER = 10**18


def deploy_registry(chain):
    return chain.deploy("ChannelRegistry", MIN_PERIOD, MAX_PERIOD)


@pytest.fixture(scope="session")
def registry(chain):
    return deploy_registry(chain)


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
def token(chain, alice, bob):
    contract = chain.deploy("TestToken", "Test", "TST")
    for account in (alice, bob):
        chain.transact(contract.functions.mint(account.address, 1000 * ETHER), chain.accounts[0])
    return contract


@pytest.fixture(scope="session")
def fee_token(chain, alice, bob):
    """An ERC-20 keeping 1 % of every transfer (`setFee` changes it; the per-test snapshot undoes that)."""
    contract = chain.deploy("FeeOnTransferToken", "Fee", "FEE", 100)
    for account in (alice, bob):
        chain.transact(contract.functions.mint(account.address, 1000 * ETHER), chain.accounts[0])
    return contract


@pytest.fixture(scope="session")
def no_bool_token(chain, alice, bob):
    contract = chain.deploy("NoBoolToken")
    for account in (alice, bob):
        chain.transact(contract.functions.mint(account.address, 1000 * ETHER), chain.accounts[0])
    return contract


def open_channel(chain, registry, a, b, *, token=ZERO_ADDRESS, deposit_a=ETHER, deposit_b=ETHER, period=PERIOD,
                 store_a=None, store_b=None):
    """Alice opens with her deposit, Bob joins and deposits; both views refreshed."""
    party_a, _ = Party.open(chain, registry, a, b.address, token=token, challenge_period=period, deposit=deposit_a,
                            store=store_a)
    party_b = Party.join(chain, registry, b, party_a.params, store=store_b)
    if deposit_b:
        party_b.deposit(deposit_b)
    party_a.refresh_funding()
    return party_a, party_b


@pytest.fixture
def channel(chain, registry, alice, bob):
    """An open ETH channel, 1 ETH deposited by each side."""
    return open_channel(chain, registry, alice, bob)


@pytest.fixture(name="open_channel")
def open_channel_fixture():
    return open_channel


@pytest.fixture(name="pay")
def pay_fixture():
    return pay


def everything(party) -> tuple:
    """All a party holds, in memory and on disk: a refused operation must leave it exactly as it was."""
    rows = ()
    if party.store is not None:
        db = party.store.db
        rows = tuple(tuple(db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall())
                     for table in ("proofs", "withdraws", "signed_close"))
    return (party.latest, party.pending, party.verified, party.onchain, party.funding, party.withdrawals,
            party.signed_close, list(party._unsaved), rows)


@pytest.fixture(name="everything")
def everything_fixture():
    return everything
