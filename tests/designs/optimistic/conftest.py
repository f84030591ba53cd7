"""Rollup fixtures: one deployment per session (Rollup + two ERC-20s, one without bool returns).

The per-test snapshot/revert of tests/conftest.py puts everything back after each test; sequencer
databases live in each test's tmp_path.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet

ETH, TOKEN, NOBOOL = 0, 1, 2
MINT = 10**24


@dataclass
class RollupEnv:
    chain: object
    rollup: l1.RollupClient
    admin: object
    proposer: object
    users: list
    challenger: object
    token: object
    nobool: object

    def sequencer(self, tmp_path, name="seq.db", **kwargs) -> Sequencer:
        return Sequencer(self.rollup, self.proposer, tmp_path / name, **kwargs)

    def verifier(self, **kwargs) -> Challenger:
        return Challenger(self.rollup, self.challenger, **kwargs)

    def wallets(self, sequencer) -> list[Wallet]:
        return [Wallet(u, self.rollup, sequencer) for u in self.users]

    def finalize(self):
        self.chain.advance_time(self.rollup.challenge_window + 1)


def fund_for_faults(env, seq):
    """Alice and bob deposit 1 ETH each, and so does the proposer (its own L2 account, used by some faults)."""
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    env.rollup.deposit_eth(env.proposer, 10**18)
    seq.sync_queue()
    return alice, bob


def deploy_env(chain) -> RollupEnv:
    admin, proposer, *users = chain.accounts[:6]
    challenger = chain.accounts[6]
    rollup = l1.deploy(chain, proposer.address, sender=admin)
    token = chain.deploy("TestToken", "Rollup Test Token", "RTT", sender=admin)
    nobool = chain.deploy("NoBoolToken", sender=admin)
    rollup.register_token(admin, token.address)
    rollup.register_token(admin, nobool.address)
    for user in users + [proposer]:
        chain.transact(token.functions.mint(user.address, MINT), admin)
        chain.transact(nobool.functions.mint(user.address, MINT), admin)
    rollup.deposit_bond(proposer, l1.DEV_MIN_BOND)
    return RollupEnv(chain, rollup, admin, proposer, users, challenger, token, nobool)


@pytest.fixture(scope="session")
def env(chain) -> RollupEnv:
    return deploy_env(chain)


@pytest.fixture(scope="session")
def anvil_env(anvil_chain) -> RollupEnv:
    return deploy_env(anvil_chain)


# --- the compact rollup (BLS aggregate signatures) ------------------------------------------------

@dataclass
class CompactEnv:
    """A compact rollup (depth 6, k = 4: py-evm's pairings are pure Python) whose proposer and users have
    registered BLS keys; the proposer's own account (the first deposit: account 1) takes the fees."""

    chain: object
    client: object
    admin: object
    proposer: object
    users: list
    challenger: object
    token: object

    def sequencer(self, tmp_path, name="sequencer.db", **kwargs):
        from l2.designs.optimistic.sequencer import Sequencer

        return Sequencer(self.client, self.proposer, kwargs.pop("fee_receiver", 1), tmp_path / name, **kwargs)

    def checker(self):
        from l2.designs.optimistic.challenger import Challenger

        return Challenger(self.client, self.challenger)

    def wallets(self, sequencer) -> list:
        from l2.designs.optimistic.wallet import Wallet

        return [Wallet(u, self.client, sequencer) for u in self.users]

    def finalize(self):
        self.chain.advance_time(self.client.challenge_window + 1)


def deploy_compact(chain) -> CompactEnv:
    from l2.core import bls
    from l2.designs.optimistic import l1 as compact_l1

    admin, proposer, challenger = chain.accounts[0], chain.accounts[8], chain.accounts[9]
    users = chain.accounts[4:7]
    client = compact_l1.deploy(chain, proposer.address, depth=6, k=4, sender=admin)
    token = chain.deploy("TestToken", "Rollup Test Token", "RTT", sender=admin)
    client.register_token(admin, token.address, 10**6)
    client.deposit_bond(proposer, compact_l1.DEV_MIN_BOND)
    client.register_key(proposer, bls.BlsKey.derive(bytes(proposer.key)))
    client.deposit_eth(proposer, 10**16)
    for user in users:  # their wallets' keys (derived from the Ethereum keys), once per session
        chain.transact(token.functions.mint(user.address, MINT), admin)
        client.register_key(user, bls.BlsKey.derive(bytes(user.key)))
    return CompactEnv(chain, client, admin, proposer, users, challenger, token)


@pytest.fixture(scope="session")
def compact_env(chain) -> CompactEnv:
    return deploy_compact(chain)


@pytest.fixture(scope="session")
def compact_anvil_env(anvil_chain) -> CompactEnv:
    return deploy_compact(anvil_chain)
