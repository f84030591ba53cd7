"""Layer-1 fixtures of the sidechain: StakeManager and DepositManager deployed once per session with four
validators of unequal stake (40, 30, 20, 10 ETH: two of them hold more than 2/3, three of them may not);
tests/conftest.py reverts the chain after every test.

`bridged` (test_bridge.py, test_cluster.py): four validator processes of equal stake linked to a Layer 1,
the embedded chain or anvil."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import pytest
from eth_account import Account
from web3 import Web3

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import BRIDGE_ADDRESS, Burn, Checkpoint
from l2.designs.sidechain.cluster import FAST_TIMING, Cluster
from l2.designs.sidechain.config import L1Link
from l2.designs.sidechain.l1 import ETH, BridgeParams, SidechainL1, StakeParams, deploy
from l2.l1.gateway import Gateway

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


# --- four validator processes linked to a Layer 1 ---------------------------------------------------

BRIDGED_ID = 907
CLUSTER_KEYS = [bytes([0x31 + i]) * 32 for i in range(4)]
INTERVAL = 4  # blocks per checkpoint
USER = Account.from_key(bytes([0x41]) * 32)  # the same key on both chains; sidechain ETH only by deposit
SENDER = Account.from_key(bytes([0x21]) * 32)  # sidechain ETH from genesis: transfers with no deposit first


def wait_for(what: str, predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def web3_of(cluster, i) -> Web3:
    return Web3(Web3.HTTPProvider(cluster.rpc_url(i), request_kwargs={"timeout": 10}))


def bridge_of(w3: Web3, chain):
    return w3.eth.contract(BRIDGE_ADDRESS, abi=chain.artifacts["SidechainBridge"].abi)


@pytest.fixture(params=["embedded", "anvil"])
def bridged(request, tmp_path):
    """A StakeManager staked by the cluster's four signers (10 ETH each, gas money too) and its
    DepositManager, then the cluster with its bridge, reading Layer 1: the embedded chain through the
    gateway, or anvil directly. Function-scoped: tests/conftest.py reverts Layer 1 after each test, which
    a running cluster would see as its deposits and checkpoints vanishing."""
    if request.param == "anvil":
        chain = request.getfixturevalue("anvil_chain")
        url = request.getfixturevalue("anvil_url")
    else:
        chain = request.getfixturevalue("chain")
        url = None
    l1 = deploy(chain, StakeParams(BRIDGED_ID, confirmations=2))
    for owner, key in zip(chain.accounts[1:5], CLUSTER_KEYS, strict=True):
        signer = Account.from_key(key).address
        l1.stake(owner, signer, 10 * ETHER)
        chain.send_eth(chain.accounts[0], signer, 10 * ETHER)
    chain.send_eth(chain.accounts[0], USER.address, 100 * ETHER)
    with contextlib.ExitStack() as stack:
        if url is None:
            url = stack.enter_context(Gateway(chain)).url
        link = L1Link(url, l1.stake_manager.address, l1.deposit_manager.address, INTERVAL)
        cluster = stack.enter_context(Cluster(tmp_path / "sc", 4, chain_id=BRIDGED_ID, timing=FAST_TIMING,
                                              keys=CLUSTER_KEYS, stakes=[10 * ETHER] * 4, l1=link,
                                              alloc={SENDER.address: 1_000 * ETHER}))
        yield chain, l1, cluster
