"""Layer-1 fixtures of the sidechain: StakeManager and DepositManager deployed once per session with four
validators of unequal stake (40, 30, 20, 10 ETH: two of them hold more than 2/3, three of them may not);
tests/conftest.py reverts the chain after every test."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Burn, Checkpoint
from l2.designs.sidechain.l1 import ETH, BridgeParams, SidechainL1, StakeParams, deploy

ETHER = 10**18
SIDECHAIN_ID = 905
STAKES = (40 * ETHER, 30 * ETHER, 20 * ETHER, 10 * ETHER)
VALIDATOR_KEYS = [bytes([0x61 + i]) * 32 for i in range(len(STAKES))]
SIGNERS = [Signer(k) for k in VALIDATOR_KEYS]
OUTSIDER = Signer(bytes([0x7F]) * 32)
ETH_LIMIT = 5 * ETHER  # outflow per checkpoint before exits are held
TOKEN_LIMIT = 1_000 * ETHER
HOLD_PERIOD = 3_600
MAX_VALIDATORS = 6
UNBONDING_DELAY = 2


def block_hashes(start: int, end: int, fork: bytes = b"") -> list[bytes]:
    """Stand-ins for the sidechain's block hashes at start..end (a `fork` tag makes another chain of them)."""
    return [keccak(b"sidechain block" + fork + h.to_bytes(8, "big")) for h in range(start, end + 1)]


@dataclass
class Env:
    chain: object
    l1: SidechainL1
    token: object
    owners: list  # Layer-1 accounts owning the validators, in SIGNERS order
    user: object
    mallory: object
    burns: list[Burn] = field(default_factory=list)

    def sign(self, checkpoint: Checkpoint, signers=None) -> dict[str, bytes]:
        chosen = SIGNERS if signers is None else signers
        return {s.address: bridge.sign_checkpoint(s, self.chain.chain_id, self.l1.stake_manager.address,
                                                  SIDECHAIN_ID, checkpoint) for s in chosen}

    def checkpoint(self, end: int, burns=(), signers=None, *, fork: bytes = b"") -> tuple[int, Checkpoint]:
        """Submit the next checkpoint, up to block `end`, with `burns`; returns (number, checkpoint)."""
        start = self.l1.last_end() + 1
        cp = bridge.make_checkpoint(start, block_hashes(start, end, fork), list(burns))
        number = self.l1.epoch()
        self.l1.submit_checkpoint(self.chain.accounts[0], cp, self.sign(cp, signers))
        return number, cp

    def burn(self, block: int, recipient: str, amount: int, token: str = ETH) -> Burn:
        """A burn on the sidechain, numbered as its bridge will number them."""
        burn = Burn(len(self.burns) + 1, block, token, recipient, amount)
        self.burns.append(burn)
        return burn


@pytest.fixture(scope="session")
def l1_session(chain) -> Env:
    token = chain.deploy("TestToken", "Bridged", "BRG")
    l1 = deploy(chain, StakeParams(SIDECHAIN_ID, max_validators=MAX_VALIDATORS, unbonding_delay=UNBONDING_DELAY),
                BridgeParams(((ETH, ETH_LIMIT), (token.address, TOKEN_LIMIT)), HOLD_PERIOD))
    owners = chain.accounts[1:1 + len(SIGNERS)]
    for owner, signer, amount in zip(owners, SIGNERS, STAKES, strict=True):
        l1.stake(owner, signer.address, amount)
    user, mallory = chain.accounts[6], chain.accounts[7]
    chain.transact(token.functions.mint(user.address, 10_000 * ETHER), user)
    chain.transact(token.functions.approve(l1.deposit_manager.address, 2**256 - 1), user)
    return Env(chain, l1, token, list(owners), user, mallory)


@pytest.fixture
def env(l1_session) -> Env:
    l1_session.burns = []  # the chain is reverted after each test; so is the sidechain's burn counter
    return l1_session
