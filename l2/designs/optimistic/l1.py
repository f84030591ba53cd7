"""Thin client of the `Rollup` contract: the only place that talks to Layer 1 for the rollup.

The challenger reads everything it needs from here: `QueueEntryAdded` events, `BatchSubmitted`
events and the calldata of the transactions that posted the batches (the contract accepts batches
only as the top-level call of an account without code, so that input is always the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.exceptions import BlockNotFound

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import proofs
from l2.designs.optimistic.batch import BatchHeader
from l2.designs.optimistic.errors import BatchDataUnavailable, UndecodableTransaction
from l2.designs.optimistic.txs import DEFAULT_TREE_DEPTH, TX_QUEUE, QueueEntry, domain
from l2.errors import TransactionReverted
from l2.l1.chain import Chain

DEV_CHALLENGE_WINDOW = 600  # seconds; days on a real deployment
DEV_INCLUSION_WINDOW = 1200
DEV_MIN_BOND = 10**18
# Smallest deposit: each queue entry costs the proposer ~2.7k gas and may take a tree leaf, so dust
# must not be free to queue; 0.001 ETH makes filling the default tree cost over 1,000 ETH locked.
DEV_MIN_DEPOSIT = 10**15


@dataclass(frozen=True)
class PostedBatch:
    header: BatchHeader
    post_root: bytes
    data: bytes
    block_number: int
    tx_hash: bytes
    block_hash: bytes = b""


def deploy(chain: Chain, sequencer: str, challenge_window: int = DEV_CHALLENGE_WINDOW,
           inclusion_window: int = DEV_INCLUSION_WINDOW, min_bond: int = DEV_MIN_BOND,
           sender: LocalAccount | None = None, min_deposit: int = DEV_MIN_DEPOSIT,
           tree_depth: int = DEFAULT_TREE_DEPTH) -> RollupClient:
    contract = chain.deploy("OptimisticRollup", sequencer, challenge_window, inclusion_window, min_bond, min_deposit,
                            tree_depth,
                            sender=sender)
    return RollupClient(chain, contract.address)


class RollupClient:
    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract = chain.contract("OptimisticRollup", address)
        self.address = self.contract.address
        self.domain = domain(chain.chain_id, self.address)
        self.challenge_window = self.contract.functions.challengeWindow().call()
        self.inclusion_window = self.contract.functions.inclusionWindow().call()
        self.tree_depth = self.contract.functions.treeDepth().call()
        self.queue_progress = self.contract.functions.QUEUE_PROGRESS().call()

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

    def l1_queue_hash(self, data: bytes) -> bytes:
        """`queueHashAt` of the queue cursor after `data` as Layer 1 holds the queue now (for tools and
        tests that post hand-made batches; the sequencer binds a batch to the entries it applied)."""
        head = self.counters()[1]
        ops = sum(1 for chunk in batch_mod.split(data, head) if chunk.body[0] == TX_QUEUE)
        return bytes(self.fn.queueHashAt(head + ops).call())

    def posted_batch(self, log) -> PostedBatch:
        """Header (from the event) and data (from the posting transaction's calldata) of one batch.

        BatchDataUnavailable if that transaction's input is not a `submitBatch` call to this contract
        carrying exactly the batch the event commits to: nobody could check such a batch.
        """
        a = log.args
        header = BatchHeader(a.index, a.timestamp, a.proposer, bytes(a.prevRoot), bytes(a.txRoot), a.txCount,
                             a.queueStart, a.queueEnd)
        tx = self.chain.w3.eth.get_transaction(log.transactionHash)
        where = f"batch #{a.index} (transaction 0x{bytes(log.transactionHash).hex()})"
        if tx.get("to") is None or tx["to"].lower() != self.address.lower():
            raise BatchDataUnavailable(f"{where} was posted through {tx.get('to')}, not to the rollup directly: "
                                       "its data is not in any transaction's input")
        try:
            fn, args = self.contract.decode_function_input(tx["input"])
        except Exception as exc:  # noqa: BLE001 - web3 raises several shapes for undecodable input
            raise BatchDataUnavailable(f"{where}: the transaction's input does not decode ({exc})") from None
        if fn.fn_name != "submitBatch":
            raise BatchDataUnavailable(f"{where}: the transaction calls {fn.fn_name}, not submitBatch")
        data = bytes(args["data"])
        try:
            chunks = batch_mod.split(data, header.queue_start)
        except UndecodableTransaction as exc:
            raise BatchDataUnavailable(f"{where}: the posted data does not split into transactions ({exc})") from None
        if len(chunks) != header.tx_count or batch_mod.tx_root(chunks) != header.tx_root:
            raise BatchDataUnavailable(f"{where}: the transaction's input is not the batch its event commits to")
        return PostedBatch(header, bytes(a.postRoot), data, log.blockNumber, bytes(log.transactionHash),
                           bytes(log.blockHash))

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

    def register_token(self, admin: LocalAccount, token_address: str, min_deposit: int = 1):
        return self.chain.transact(self.fn.registerToken(token_address, min_deposit), admin)

    def deposit_bond(self, proposer: LocalAccount, amount: int):
        return self.chain.transact(self.fn.depositBond(), proposer, value=amount)

    def withdraw_bond(self, proposer: LocalAccount):
        return self.chain.transact(self.fn.withdrawBond(), proposer)

    def submit_batch(self, proposer: LocalAccount, prev_root: bytes, tx_count: int, data: bytes, queue_hash: bytes):
        """Post a batch built on `prev_root` whose QueueOps consumed the queue up to `queue_hash`."""
        return self.chain.transact(self.fn.submitBatch(prev_root, queue_hash, tx_count, data), proposer)

    def commit_challenge(self, challenger: LocalAccount, proof: tuple):
        """First half of a fraud proof: commit to it (nothing about it is revealed)."""
        return self.chain.transact(self.fn.commitChallenge(proofs.commitment(proof, challenger.address)), challenger)

    def reveal_challenge(self, challenger: LocalAccount, proof: tuple):
        """Second half: the proof itself, in a later block than the commitment."""
        return self.chain.transact(self.fn.challengeTransition(proof), challenger, estimate_in_next_block=True)

    def challenge(self, challenger: LocalAccount, proof: tuple):
        """Commit, then reveal (each transaction waits for its block, so the reveal lands in a later
        one); returns (commit receipt, reveal receipt). A proof the contract finds correct is refused
        (TransitionCorrect) before anything is sent."""
        try:
            self.chain.call(self.fn.challengeTransition(proof), challenger)
        except TransactionReverted as exc:
            if exc.error_name not in ("ChallengeNotCommitted", "ChallengeRevealTooEarly"):
                raise  # TransitionCorrect, a witness error, a batch no longer pending: nothing to send
        return self.commit_challenge(challenger, proof), self.reveal_challenge(challenger, proof)

    def claim_withdrawal(self, sender: LocalAccount, header: BatchHeader, inclusion: tuple):
        return self.chain.transact(self.fn.claimWithdrawal(header.as_tuple(), inclusion), sender)

    def claim_forced_withdrawal(self, sender: LocalAccount, header: BatchHeader, inclusion: tuple, entry: QueueEntry):
        return self.chain.transact(self.fn.claimForcedWithdrawal(header.as_tuple(), inclusion, entry.as_tuple()),
                                   sender)

    def claim_deposit_refund(self, sender: LocalAccount, header: BatchHeader, inclusion: tuple, entry: QueueEntry):
        return self.chain.transact(self.fn.claimDepositRefund(header.as_tuple(), inclusion, entry.as_tuple()), sender)
