"""Thin client of the `Rollup` contract: the only place that talks to Layer 1 for the rollup.

The verifier reads everything it needs from here: `QueueEntryAdded` events, `BatchSubmitted`
events and the calldata of the transactions that posted the batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.exceptions import BlockNotFound

from l2.chain import Chain
from l2.rollup.batch import BatchHeader
from l2.rollup.txs import QueueEntry, domain

DEV_CHALLENGE_WINDOW = 600  # seconds; days on a real deployment
DEV_INCLUSION_WINDOW = 1200
DEV_MIN_BOND = 10**18


@dataclass(frozen=True)
class PostedBatch:
    header: BatchHeader
    post_root: bytes
    data: bytes
    block_number: int
    tx_hash: bytes


def deploy(chain: Chain, sequencer: str, challenge_window: int = DEV_CHALLENGE_WINDOW,
           inclusion_window: int = DEV_INCLUSION_WINDOW, min_bond: int = DEV_MIN_BOND,
           sender: LocalAccount | None = None) -> "RollupClient":
    contract = chain.deploy("Rollup", sequencer, challenge_window, inclusion_window, min_bond, sender=sender)
    return RollupClient(chain, contract.address)


class RollupClient:
    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract = chain.contract("Rollup", address)
        self.address = self.contract.address
        self.domain = domain(chain.chain_id, self.address)
        self.challenge_window = self.contract.functions.challengeWindow().call()
        self.inclusion_window = self.contract.functions.inclusionWindow().call()

    @property
    def fn(self):
        return self.contract.functions

    # --- reads ------------------------------------------------------------------------------

    def tip_root(self) -> bytes:
        return bytes(self.fn.tipRoot().call())

    def counters(self) -> tuple[int, int, int, int]:
        """(batchCount, queueHead, queueLength, lastBatchTime)."""
        return tuple(self.fn.counters().call())

    def batch_count(self) -> int:
        return self.counters()[0]

    def token_address(self, token: int) -> str:
        return self.fn.tokens(token).call()

    def queue_entries(self, start: int = 0, from_block: int = 0, to_block: int | str = "latest") -> list[QueueEntry]:
        logs = self.contract.events.QueueEntryAdded().get_logs(from_block=from_block, to_block=to_block)
        entries = [
            QueueEntry(a.index, a.kind, a.addr, a.accountIndex, a.token, a.amount, a.timestamp)
            for a in (log.args for log in logs)
        ]
        return sorted((e for e in entries if e.index >= start), key=lambda e: e.index)

    def events(self, name: str, from_block: int = 0, to_block: int | str = "latest") -> list:
        return list(self.contract.events[name]().get_logs(from_block=from_block, to_block=to_block))

    def head(self) -> tuple[int, bytes]:
        """(number, hash) of the newest block: where a scan of the logs may stop and resume."""
        block = self.chain.w3.eth.get_block("latest")
        return block["number"], bytes(block["hash"])

    def block_hash(self, number: int) -> bytes | None:
        """Hash of block `number`, or None when the chain is shorter (a reorg or a snapshot revert)."""
        try:
            return bytes(self.chain.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None

    def posted_batch(self, log) -> PostedBatch:
        """Header (from the event) and data (from the posting transaction's calldata) of one batch."""
        a = log.args
        header = BatchHeader(a.index, a.timestamp, a.proposer, bytes(a.prevRoot), bytes(a.txRoot), a.txCount,
                             a.queueStart, a.queueEnd)
        tx = self.chain.w3.eth.get_transaction(log.transactionHash)
        _, args = self.contract.decode_function_input(tx["input"])
        return PostedBatch(header, bytes(a.postRoot), bytes(args["data"]), log.blockNumber, bytes(log.transactionHash))

    # --- writes -----------------------------------------------------------------------------

    def deposit_eth(self, sender: LocalAccount, amount: int, to: str | None = None):
        return self.chain.transact(self.fn.depositETH(to or sender.address), sender, value=amount)

    def deposit_token(self, sender: LocalAccount, token: int, amount: int, to: str | None = None):
        token_address = self.token_address(token)
        erc20 = self.chain.contract("TestToken", token_address)
        self.chain.transact(erc20.functions.approve(self.address, amount), sender)
        return self.chain.transact(self.fn.depositToken(token, amount, to or sender.address), sender)

    def request_forced_withdrawal(self, sender: LocalAccount, account_index: int, token: int, amount: int):
        return self.chain.transact(self.fn.requestForcedWithdrawal(account_index, token, amount), sender)

    def register_token(self, admin: LocalAccount, token_address: str):
        return self.chain.transact(self.fn.registerToken(token_address), admin)

    def deposit_bond(self, proposer: LocalAccount, amount: int):
        return self.chain.transact(self.fn.depositBond(), proposer, value=amount)

    def withdraw_bond(self, proposer: LocalAccount):
        return self.chain.transact(self.fn.withdrawBond(), proposer)

    def submit_batch(self, proposer: LocalAccount, prev_root: bytes, tx_count: int, data: bytes):
        return self.chain.transact(self.fn.submitBatch(prev_root, tx_count, data), proposer)

    def challenge(self, challenger: LocalAccount, proof: tuple):
        return self.chain.transact(self.fn.challengeTransition(proof), challenger)

    def claim_withdrawal(self, sender: LocalAccount, header: BatchHeader, inclusion: tuple):
        return self.chain.transact(self.fn.claimWithdrawal(header.as_tuple(), inclusion), sender)

    def claim_forced_withdrawal(self, sender: LocalAccount, header: BatchHeader, inclusion: tuple, entry: QueueEntry):
        return self.chain.transact(self.fn.claimForcedWithdrawal(header.as_tuple(), inclusion, entry.as_tuple()), sender)
