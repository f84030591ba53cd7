"""A running sidechain beside a Layer 1, as the commands use one (demo, compare, sandbox, bench,
`l2 sidechain up`): validators staked on Layer 1, their processes started on 127.0.0.1, and the user's
moves (deposit, transfer, burn, exit) with a deadline on every wait.

The Layer-1 contracts are the deployment's StakeManager and DepositManager while they are fresh. A
StakeManager serves one sidechain's life (its checkpoints must start at block 1 and its set is the one
staked there), so a session on contracts another sidechain already used deploys its own pair.

The validators pay for their checkpoints on Layer 1 from gas money the funder gives them; `close` sweeps
what is left back to the funder and counts their transactions in the chain's open `record()`s, so a
caller's books (ETH before = after + fees) balance to the wei.
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from l2.designs.sidechain.bridge import BRIDGE_ADDRESS, Burn, Checkpoint
from l2.designs.sidechain.byzantine import deliver, double_prevote
from l2.designs.sidechain.cluster import DEFAULT_CHAIN_ID, FAST_TIMING, Cluster
from l2.designs.sidechain.config import L1Link
from l2.designs.sidechain.consensus import Timing
from l2.designs.sidechain.errors import NodeUnavailable
from l2.designs.sidechain.l1 import ETH, BridgeParams, SidechainL1, Slashing, StakeParams, deploy
from l2.designs.sidechain.messages import Vote
from l2.errors import L2Error
from l2.l1.chain import Chain
from l2.output import eth

SIDECHAIN_ID = DEFAULT_CHAIN_ID
VALIDATOR_STAKE = 10**18  # StakeParams' minimum: the set is only as strong as this on a dev chain
CHECKPOINT_INTERVAL = 4  # sidechain blocks per checkpoint in a session (short: exits wait for one)
SIDECHAIN_GAS_MONEY = 10**18  # native sidechain ETH each user starts with, for sidechain gas only
TRANSFER_GAS = 21_000
WITHDRAW_GAS = 120_000
WAIT = 60.0  # seconds any one wait may take before the session gives up with NodeUnavailable
SLASH_ATTEMPT = 10.0  # seconds for the peers to report a fault before it is committed again at a later height


def stake_params(dev: bool = True) -> StakeParams:
    return StakeParams(SIDECHAIN_ID, confirmations=2 if dev else 12)


def bridge_params(dev: bool = True) -> BridgeParams:
    # Ronin's lesson: at most 100 ETH paid against one checkpoint before exits are held (1 h / 1 day).
    return BridgeParams(((ETH, 100 * 10**18),), 3_600 if dev else 86_400)


@dataclass(frozen=True)
class Exit:
    burn: Burn
    checkpoint_number: int
    checkpoint: Checkpoint
    l1_gas: int


@dataclass(frozen=True)
class Slash:
    """An equivocation committed with a validator's key and what Layer 1 made of it."""

    votes: tuple[Vote, Vote]
    stake_before: int
    stake_after: int
    slashing: Slashing
    l1_gas: int


SIGNER_GAS_FLOOR = 40 * 300_000  # gas: 40 checkpoints or slashing reports of a small validator set


class Sidechain:
    """`validators` processes staked by `funder`, each given `signer_gas` wei for its checkpoints."""

    def __init__(self, chain: Chain, workdir: Path, *, addresses: dict[str, str] | None = None, validators: int = 2,
                 funder: LocalAccount | None = None, signer_gas: int = 10**17, alloc: dict[str, int] | None = None,
                 interval: int = CHECKPOINT_INTERVAL, timing: Timing = FAST_TIMING, dev: bool = True):
        self.chain = chain
        self.funder = funder or chain.accounts[0]
        self.first_block = chain.block_number() + 1  # the validators' Layer-1 transactions come after this
        self.dev = dev
        self.l1, self.own_contracts = self._contracts(addresses or {})
        self.keys = [secrets.token_bytes(32) for _ in range(validators)]
        self.signers = [Account.from_key(k) for k in self.keys]
        self.gateway = None
        self.cluster: Cluster | None = None
        self._stack = contextlib.ExitStack()
        atexit.register(self.close)  # a session that dies with an exception still stops its processes
        # Enough for a few dozen checkpoints and evidence reports at the node's gas price, whatever unit the
        # caller counts in (on a node without dev accounts amounts are scaled down, and a validator that runs
        # out can neither submit nor report an equivocator); what is left returns to the funder at close.
        signer_gas = max(signer_gas, SIGNER_GAS_FLOOR * 2 * chain.w3.eth.gas_price)
        for signer in self.signers:
            self.l1.stake(self.funder, signer.address, VALIDATOR_STAKE)
            chain.send_eth(self.funder, signer.address, signer_gas)
        url = getattr(chain, "url", None)
        if chain.is_embedded or url is None:
            from l2.l1.gateway import Gateway

            self.gateway = self._stack.enter_context(Gateway(chain))  # type: ignore[arg-type]
            url = self.gateway.url
        link = L1Link(url, self.l1.stake_manager.address, self.l1.deposit_manager.address, interval)
        try:
            self.cluster = self._stack.enter_context(Cluster(
                Path(workdir), validators, chain_id=self.l1.sidechain_id, timing=timing, keys=self.keys,
                stakes=[VALIDATOR_STAKE] * validators, l1=link, alloc=alloc))
        except BaseException:
            self._stack.close()
            raise
        self.w3 = Web3(Web3.HTTPProvider(self.cluster.rpc_url(0), request_kwargs={"timeout": 10}))
        self.bridge = self.w3.eth.contract(Web3.to_checksum_address(BRIDGE_ADDRESS),
                                           abi=chain.artifacts["SidechainBridge"].abi)
        self._nonces: dict[str, int] = {}
        self.sent: list[bytes] = []  # sidechain transactions sent and not yet waited for
        self.fees: dict[str, int] = {}  # sidechain gas paid, by sender

    def _contracts(self, addresses: dict[str, str]) -> tuple[SidechainL1, bool]:
        if "StakeManager" in addresses and "DepositManager" in addresses:
            l1 = SidechainL1(self.chain, addresses["StakeManager"], addresses["DepositManager"])
            if l1.last_end() == 0 and not l1.set_changes():
                return l1, False
        return deploy(self.chain, stake_params(self.dev), bridge_params(self.dev), sender=self.funder), True

    # --- the sidechain -------------------------------------------------------------------------------

    def height(self) -> int:
        return self.w3.eth.block_number

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address))

    def _fee_fields(self) -> dict:
        base = self.w3.eth.get_block("latest")["baseFeePerGas"]
        return {"maxPriorityFeePerGas": 10**9, "maxFeePerGas": 2 * base + 10**9}

    def send(self, sender: LocalAccount, to: str | None, value: int, data: bytes = b"",
             gas: int = TRANSFER_GAS) -> bytes:
        """Sign and send a sidechain transaction (`to` None: a contract creation) without waiting (see
        `wait_sent`)."""
        if sender.address not in self._nonces:
            self._nonces[sender.address] = self.w3.eth.get_transaction_count(sender.address, "pending")
        tx = {"value": value, "data": data, "gas": gas, "nonce": self._nonces[sender.address],
              "chainId": self.l1.sidechain_id, **self._fee_fields()}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        tx_hash = bytes(self.w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))
        self._nonces[sender.address] += 1
        self.sent.append(tx_hash)
        return tx_hash

    def wait_sent(self, timeout: float = WAIT) -> list[Any]:
        """Every transaction sent so far, committed (each must succeed); their sidechain fees are counted."""
        receipts = []
        for tx_hash in self.sent:
            receipt = self.w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=timeout, poll_latency=0.05)
            if receipt["status"] != 1:
                raise NodeUnavailable(f"sidechain transaction {tx_hash.hex()} failed in block {receipt['blockNumber']}")
            sender = receipt["from"]
            self.fees[sender] = self.fees.get(sender, 0) + receipt["gasUsed"] * receipt["effectiveGasPrice"]
            receipts.append(receipt)
        self.sent = []
        return receipts

    def transfer(self, sender: LocalAccount, to: str, value: int) -> dict:
        self.send(sender, to, value)
        return self.wait_sent()[-1]

    def deploy(self, sender: LocalAccount, name: str, *args) -> dict:
        """Deploy the project's contract `name` from `sender` as on any node (a signed creation transaction,
        the gas a validator estimates); its committed receipt, `contractAddress` included."""
        artifact = self.chain.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = bytes.fromhex(factory.constructor(*args).data_in_transaction[2:])
        gas = self.w3.eth.estimate_gas({"from": sender.address, "data": data})
        self.send(sender, None, 0, data, gas)
        return self.wait_sent()[-1]

    def contract(self, name: str, address: str):
        """The project's contract `name` at `address` on the sidechain (its calls are eth_calls there)."""
        return self.w3.eth.contract(Web3.to_checksum_address(address), abi=self.chain.artifacts[name].abi)

    def execute(self, sender: LocalAccount, call) -> dict:
        """Send a contract function call (a web3 ContractFunction of `contract`) from `sender`; its receipt."""
        data = bytes.fromhex(call._encode_transaction_data()[2:])
        gas = self.w3.eth.estimate_gas({"from": sender.address, "to": call.address, "data": data})
        self.send(sender, call.address, 0, data, gas)
        return self.wait_sent()[-1]

    # --- the bridge ----------------------------------------------------------------------------------

    def deposit(self, sender: LocalAccount, amount: int, recipient: str | None = None):
        """Lock `amount` in the DepositManager for `recipient` on the sidechain (Layer-1 receipt)."""
        return self.l1.deposit_ether(sender, recipient or sender.address, amount)

    def wait_deposits(self, count: int | None = None, timeout: float = WAIT) -> float:
        """Until every state sync so far (or `count` of them) is applied on the sidechain; returns the seconds."""
        target = count if count is not None else (self.l1.state_syncs()[-1].id if self.l1.state_syncs() else 0)
        started = time.monotonic()
        # The confirmation depth the validators wait for: mined at once where the node lets us (the embedded
        # chain, anvil or Hardhat even without their dev accounts), waited for on a chain that makes blocks.
        with contextlib.suppress(L2Error):
            self.chain.mine(self.l1.confirmations())
        self._until(lambda: self.bridge.functions.lastStateSyncId().call() >= target,
                    f"state sync {target} applied on the sidechain", timeout)
        return time.monotonic() - started

    def withdraw(self, sender: LocalAccount, amount: int, recipient: str | None = None) -> bytes:
        """Burn `amount` on the sidechain's bridge for `recipient` on Layer 1 (sent, not waited for)."""
        to = Web3.to_checksum_address(recipient or sender.address)
        data = self.bridge.functions.withdraw(to)._encode_transaction_data()
        return self.send(sender, BRIDGE_ADDRESS, amount, bytes.fromhex(data[2:]), WITHDRAW_GAS)

    def wait_checkpoint(self, block: int, timeout: float = WAIT) -> tuple[int, Checkpoint]:
        """Until the validators have checkpointed `block` on Layer 1: (number, checkpoint) covering it."""
        self._until(lambda: self.l1.last_end() >= block, f"a checkpoint covering sidechain block {block}", timeout)
        return next((n, cp) for n, cp in self.l1.checkpoints() if cp.start <= block <= cp.end)

    def burns(self, checkpoint: Checkpoint) -> list[Burn]:
        assert self.cluster is not None
        return [Burn(b["id"], b["blockNumber"], Web3.to_checksum_address(b["token"]),
                     Web3.to_checksum_address(b["recipient"]), int(b["amount"]))
                for b in self.cluster.rpc(0, "sidechain_getBurns", [checkpoint.start, checkpoint.end])]

    def exit(self, sender: LocalAccount, burn_receipt: dict, timeout: float = WAIT) -> Exit:
        """Prove the burn of `burn_receipt` against the checkpoint covering it and have it paid on Layer 1."""
        block = burn_receipt["blockNumber"]
        number, checkpoint = self.wait_checkpoint(block, timeout)
        burns = self.burns(checkpoint)
        burned = self.bridge.events.Burned().process_receipt(burn_receipt)
        burn_id = burned[0]["args"]["id"]
        index = next(i for i, b in enumerate(burns) if b.id == burn_id)
        receipt = self.l1.exit(sender, number, checkpoint, burns, index)
        return Exit(burns[index], number, checkpoint, receipt.gasUsed)

    # --- slashing -------------------------------------------------------------------------------------

    def equivocate(self, i: int, timeout: float = WAIT) -> Slash:
        """Play validator `i` byzantine with its own key: two different prevotes for a height its peers are
        about to reach, sent to them as a peer sends votes; returns once their reporters got it slashed."""
        assert self.cluster is not None
        signer = self.signers[i].address
        before = self.l1.stake_of(signer)
        peers = [j for j in range(len(self.signers)) if j != i and self.cluster.alive(j)]
        if not peers:
            raise NodeUnavailable(f"no validator but {i} is running: nobody would see it equivocate")
        ports = [self.cluster.config.nodes[j].p2p_port for j in peers]
        deadline = time.monotonic() + timeout
        while True:
            # Two heights past the peers' last commit: a peer still on the one before keeps the votes until
            # it gets there (node._defer), one already there takes them at once. Should the chain have run
            # past it meanwhile (the votes dropped as stale), the fault is committed again, higher up.
            height = max(self.cluster.height(j) for j in peers) + 2
            votes = double_prevote(self.keys[i], self.cluster.config.domain, height)
            deliver(ports, votes)
            left = deadline - time.monotonic()
            try:
                self._until(lambda: self.l1.stake_of(signer) < before, f"validator {i} slashed on Layer 1",
                            max(0.0, min(SLASH_ATTEMPT, left)))
                break
            except NodeUnavailable:
                if left <= SLASH_ATTEMPT:
                    raise
        (slashing,) = [s for s in self.l1.slashings(self.first_block) if s.signer == signer]
        gas_used = self.chain.w3.eth.get_transaction_receipt(HexBytes(slashing.tx_hash))["gasUsed"]
        return Slash(votes, before, self.l1.stake_of(signer), slashing, gas_used)

    def _until(self, predicate, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise NodeUnavailable(f"{what}: not within {timeout:g} s")
            time.sleep(0.05)

    def status(self) -> list[str]:
        """One line per validator: its height, or that it is down."""
        assert self.cluster is not None
        lines = []
        for i, signer in enumerate(self.signers):
            try:
                height = self.cluster.height(i) if self.cluster.alive(i) else None
            except NodeUnavailable:
                height = None
            where = self.cluster.rpc_url(i)
            lines.append(f"validator {i} {signer.address} {where}: "
                         + (f"height {height}" if height is not None else "down"))
        checkpoints = len(self.l1.checkpoints())
        lines.append(f"sidechain: {checkpoints} checkpoints on Layer 1, up to block {self.l1.last_end()}; "
                     f"{eth(self.l1.locked())} locked in the bridge")
        return lines

    # --- the end -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the validators, then count their Layer-1 transactions and sweep their gas money back."""
        if self.cluster is None:
            return
        atexit.unregister(self.close)
        cluster, self.cluster = self.cluster, None
        try:
            cluster.close()
        finally:
            try:
                self._settle_signers()
            finally:
                self._stack.close()

    def _settle_signers(self) -> None:
        chain = self.chain
        signers = {s.address for s in self.signers}
        sent = dict.fromkeys(signers, 0)
        # Every Layer-1 transaction of theirs since the session began: checkpoints, a backup submitter's
        # refused one (mined, reverted, paid for), evidence reports.
        for number in range(self.first_block, chain.block_number() + 1):
            txs: Sequence[Any] = chain.w3.eth.get_block(number, full_transactions=True)["transactions"]
            for tx in txs:
                if tx["from"] not in signers:
                    continue
                sent[tx["from"]] += 1
                try:
                    function = self.l1.stake_manager.decode_function_input(tx.get("input", tx.get("data")))[0].fn_name
                except ValueError:
                    function = "?"
                chain.note_transaction(tx["hash"], "StakeManager", function)
        price = 2 * chain.w3.eth.get_block("latest")["baseFeePerGas"] + 10**9
        for signer in self.signers:
            nonce = chain.w3.eth.get_transaction_count(signer.address)
            if nonce != sent[signer.address]:  # one we did not see would be missing from the books
                raise NodeUnavailable(f"validator {signer.address} sent {nonce} Layer-1 transactions, "
                                      f"{sent[signer.address]} found since the session began")
            left = chain.balance(signer.address) - TRANSFER_GAS * price
            if left <= 0:
                continue
            # maxFeePerGas = maxPriorityFeePerGas: the price paid is exactly `price`, so nothing is left behind.
            sweep = {"to": self.funder.address, "value": left, "gas": TRANSFER_GAS, "nonce": nonce,
                     "chainId": chain.chain_id, "maxFeePerGas": price, "maxPriorityFeePerGas": price}
            tx_hash = chain.w3.eth.send_raw_transaction(signer.sign_transaction(sweep).raw_transaction)
            chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
            chain.note_transaction(tx_hash, "", "transfer")

    def __enter__(self) -> Sidechain:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
