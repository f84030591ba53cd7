"""The optimistic rollup on Layer 1: deploy it, call it, and read back what anyone can read (queue entries,
registered keys, batches with their data from the posting transactions' calldata)."""

from __future__ import annotations

import threading

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, to_canonical_address
from web3.exceptions import BlockNotFound

from l2.core import bls, eip712
from l2.designs.optimistic import encoding
from l2.designs.optimistic.encoding import QueueCommitment, QueueEntry
from l2.designs.optimistic.errors import BatchDataUnavailable, UndecodableTransaction
from l2.designs.optimistic.proofs import PostedBatch, entry_tuple
from l2.designs.optimistic.state import key_hash
from l2.l1.chain import Chain

_EVENTS = ("QueueEntryAdded", "KeyRegistered", "BatchSubmitted", "BatchesReverted")

DEV_CHALLENGE_WINDOW = 600
DEV_INCLUSION_WINDOW = 3600
DEV_MIN_BOND = 10**18
DEV_MIN_DEPOSIT = 10**15


def deploy(chain: Chain, sequencer: str, *, depth: int = 20, k: int = encoding.DEFAULT_COMMITMENT_SIZE,
           challenge_window: int = DEV_CHALLENGE_WINDOW, inclusion_window: int = DEV_INCLUSION_WINDOW,
           min_bond: int = DEV_MIN_BOND, min_deposit: int = DEV_MIN_DEPOSIT,
           sender: LocalAccount | None = None) -> RollupClient:
    signatures = chain.deploy("AggregateSignatures", sender=sender)
    rollup = chain.deploy("OptimisticRollup", sequencer, challenge_window, inclusion_window, min_bond, min_deposit,
                          depth, k, signatures.address, sender=sender)
    return RollupClient(chain, rollup.address)


class RollupClient:
    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract = chain.contract("OptimisticRollup", address)
        self.address = self.contract.address
        self.fn = f = self.contract.functions  # every view and transaction of the contract, for a console
        self.depth = f.treeDepth().call()
        self.k = f.commitmentSize().call()
        self.challenge_window = f.challengeWindow().call()
        self.domain = encoding.domain(chain.chain_id, self.address)
        self._lock = threading.Lock()
        self._scanned: tuple[int, bytes] | None = None  # (number, hash) of the last block read
        self._logs: dict[str, list] = {event: [] for event in _EVENTS}

    # --- reads --------------------------------------------------------------------------------

    def logs(self, event: str, from_block: int = 0) -> list:
        """The rollup's `event` logs since `from_block`, in chain order. Each block is read once: a call asks
        the node only for the blocks after the last one read, and reads everything again when that block is
        gone or changed (a reorg, a snapshot reverted). Every party reads all of them each round (the queue,
        the keys, the batches), and a node answers a range from 0 in time that grows with the chain."""
        with self._lock:
            self._scan()
            return [log for log in self._logs[event] if log.blockNumber >= from_block]

    def _scan(self) -> None:
        w3 = self.chain.w3
        if self._scanned is not None:
            number, block_hash = self._scanned
            try:
                unchanged = bytes(w3.eth.get_block(number)["hash"]) == block_hash
            except BlockNotFound:
                unchanged = False
            if not unchanged:
                self._scanned, self._logs = None, {event: [] for event in _EVENTS}
        head = w3.eth.get_block("latest")
        start = 0 if self._scanned is None else self._scanned[0] + 1
        if start <= head["number"]:  # one request for the four events: a node may scan every receipt per request
            events = {bytes(event_abi_to_log_topic(self.contract.events[e].abi)): e for e in _EVENTS}
            for raw in w3.eth.get_logs({"address": self.address, "fromBlock": start, "toBlock": head["number"]}):
                event = events.get(bytes(raw["topics"][0])) if raw["topics"] else None
                if event is not None:
                    self._logs[event].append(self.contract.events[event]().process_log(raw))
        self._scanned = (head["number"], bytes(head["hash"]))

    def tip_root(self) -> bytes:
        return bytes(self.contract.functions.tipRoot().call())

    def batch_count(self) -> int:
        return self.contract.functions.batchCount().call()

    def queue_head(self) -> int:
        return self.contract.functions.queueHead().call()

    def queue_hash_at(self, length: int) -> bytes:
        return bytes(self.contract.functions.queueHashAt(length).call())

    def bond(self, proposer: str) -> int:
        return self.contract.functions.bonds(proposer).call()

    def queue_entries(self, start: int = 0) -> list[QueueEntry]:
        out = []
        for log in self.logs("QueueEntryAdded"):
            a = log.args
            if a.index >= start:
                out.append(QueueEntry(a.index, a.kind, a.account, to_canonical_address(a.owner), bytes(a.keyHash),
                                      a.token, a.amount, a.timestamp))
        return sorted(out, key=lambda e: e.index)

    def keys(self) -> dict[bytes, bytes]:
        """Every registered key, by its hash: key hash -> compressed G2 key (from `KeyRegistered`)."""
        return {bytes(log.args.keyHash): bls.g2_from_evm(bytes(log.args.publicKey))
                for log in self.logs("KeyRegistered")}

    def registration_message(self, owner: str, key_hash: bytes) -> bytes:
        return eip712.typed_data_digest(self.domain, encoding.KEY_REGISTRATION_TYPE.hash_struct(
            {"owner": owner, "keyHash": key_hash}))

    def batches(self, from_block: int = 0) -> list[tuple[int, PostedBatch | BatchDataUnavailable]]:
        """(block, batch) for every `BatchSubmitted` since `from_block`, in order; a batch whose data cannot
        be rebuilt from its transaction comes back as the BatchDataUnavailable saying why."""
        out: list[tuple[int, PostedBatch | BatchDataUnavailable]] = []
        for log in self.logs("BatchSubmitted", from_block):
            try:
                out.append((log.blockNumber, self.posted_batch(log)))
            except BatchDataUnavailable as exc:
                out.append((log.blockNumber, exc))
        return out

    def reverts(self, from_block: int = 0) -> list[tuple[int, int]]:
        """(block, first reverted batch index) of every fraud proven since `from_block`."""
        return [(log.blockNumber, log.args.fromIndex)
                for log in self.logs("BatchesReverted", from_block)]

    def history(self, from_block: int = 0) -> list[tuple[int, PostedBatch | BatchDataUnavailable | None]]:
        """Every batch posted and every revert since `from_block`, in the order Layer 1 ran them: (index,
        the batch or the BatchDataUnavailable saying why it cannot be rebuilt) for a `BatchSubmitted`,
        (first reverted index, None) for a `BatchesReverted`. Ordered by block, then by place in the block:
        a batch and the fraud proof that reverts it may share a block, and which came first decides
        whether it stands."""
        logs = [(log, True) for log in self.logs("BatchSubmitted", from_block)]
        logs += [(log, False) for log in self.logs("BatchesReverted", from_block)]
        logs.sort(key=lambda item: (item[0].blockNumber, item[0].logIndex))
        out: list[tuple[int, PostedBatch | BatchDataUnavailable | None]] = []
        for log, submitted in logs:
            if not submitted:
                out.append((log.args.fromIndex, None))
                continue
            try:
                out.append((log.args.index, self.posted_batch(log)))
            except BatchDataUnavailable as exc:
                out.append((log.args.index, exc))
        return out

    def posted_batch(self, log) -> PostedBatch:
        """The header (event) and commitments (calldata of the posting transaction) of one batch, checked
        against each other: BatchDataUnavailable if nobody could rebuild the batch from Layer 1."""
        a = log.args
        header = (a.index, bytes(a.prevRoot), bytes(a.commitmentsRoot), a.commitmentCount, a.queueStart, a.queueEnd,
                  a.proposer, a.postedAt)
        tx = self.chain.w3.eth.get_transaction(log.transactionHash)
        where = f"batch #{a.index} (transaction 0x{bytes(log.transactionHash).hex()})"
        if tx.get("to") is None or tx["to"].lower() != self.address.lower():
            raise BatchDataUnavailable(f"{where} was not posted to the rollup directly")
        try:
            fn, args = self.contract.decode_function_input(tx["input"])
        except Exception as exc:  # noqa: BLE001 - web3 raises several shapes for undecodable input
            raise BatchDataUnavailable(f"{where}: the transaction's input does not decode ({exc})") from None
        if fn.fn_name != "submitBatch":
            raise BatchDataUnavailable(f"{where}: the transaction calls {fn.fn_name}, not submitBatch")
        try:
            decoded = encoding.decode_batch(bytes(args["data"]), a.queueStart, self.k)
        except UndecodableTransaction as exc:
            raise BatchDataUnavailable(f"{where}: the data does not split into commitments ({exc})") from None
        batch = PostedBatch(header, tuple(c for c, _ in decoded), tuple(q for _, q in decoded),
                            bytes(log.blockHash), bytes(log.transactionHash))
        if len(decoded) != a.commitmentCount or encoding.commitments_root(batch.leaves) != header[2]:
            raise BatchDataUnavailable(f"{where}: the transaction's input is not the batch its event commits to")
        return batch

    # --- writes -------------------------------------------------------------------------------

    def account_of(self, owner: str, token: int = 0) -> int:
        """The Layer-2 account Layer 1 assigned to (owner, token) at its first deposit; 0 if none yet."""
        return self.contract.functions.accountOf(owner, token).call()

    def key_hash_of(self, owner: str) -> bytes:
        return bytes(self.contract.functions.keyHashOf(owner).call())

    def is_claimed(self, key: bytes) -> bool:
        return self.contract.functions.claimed(key).call()

    def register_token(self, admin: LocalAccount, token: str, min_deposit: int = 1):
        return self.chain.transact(self.contract.functions.registerToken(token, min_deposit), admin)

    def deposit_token(self, sender: LocalAccount, token: int, amount: int, to: str | None = None):
        """Approve the bridge, then deposit (two transactions; the bridge credits what arrives)."""
        erc20 = self.chain.contract("TestToken", self.contract.functions.tokens(token).call())
        self.chain.transact(erc20.functions.approve(self.address, amount), sender)
        return self.chain.transact(self.contract.functions.depositToken(token, amount, to or sender.address), sender)

    def withdraw_bond(self, proposer: LocalAccount):
        return self.chain.transact(self.contract.functions.withdrawBond(), proposer)

    def register_key(self, owner: LocalAccount, key: bls.BlsKey):
        kh = key_hash(key.public)
        proof = key.prove_possession(self.registration_message(owner.address, kh))
        return self.chain.transact(self.contract.functions.registerKey(bls.g2_evm(key.public), proof), owner)

    def deposit_eth(self, sender: LocalAccount, amount: int, to: str | None = None):
        return self.chain.transact(self.contract.functions.depositETH(to or sender.address), sender, value=amount)

    def request_forced_withdrawal(self, sender: LocalAccount, account: int, amount: int):
        return self.chain.transact(self.contract.functions.requestForcedWithdrawal(account, amount), sender)

    def deposit_bond(self, proposer: LocalAccount, amount: int):
        return self.chain.transact(self.contract.functions.depositBond(), proposer, value=amount)

    def submit_batch(self, proposer: LocalAccount, commitments: list, queue_start: int,
                     prev_root: bytes | None = None):
        """Post `commitments` on `prev_root` (the proposer's view of the tip; Layer 1's if None): Layer 1
        refuses the batch if its tip moved (StalePrevRoot), so a batch is never posted twice or on a tip
        its roots were not computed from."""
        cursor = queue_start + sum(c.count for c in commitments if isinstance(c, QueueCommitment))
        return self.chain.transact(self.contract.functions.submitBatch(
            self.tip_root() if prev_root is None else prev_root, self.queue_hash_at(cursor),
            encoding.encode_batch(commitments)), proposer)

    def prove(self, challenger: LocalAccount, kind: str, proof: tuple) -> tuple:
        """Commit to a fraud proof, then reveal it (the embedded chain mines each in its own block): the
        two receipts. The commitment first, so that nobody can copy the proof from the mempool and land it."""
        f = self.contract.functions
        if kind == "transition":
            commitment, reveal = f.transitionCommitmentOf(proof, challenger.address).call(), f.challengeTransition
        else:
            commitment, reveal = f.signatureCommitmentOf(proof, challenger.address).call(), f.challengeSignature
        committed = self.chain.transact(f.commitChallenge(commitment), challenger)
        # An explicit limit: a node may estimate gas in the commitment's own block, where the reveal is refused
        # (ChallengeRevealTooEarly), and a signature proof's pairing precompile is priced per pair, which
        # estimate_gas may under-shoot. The Osaka cap is 16,777,216.
        revealed = self.chain.transact(reveal(proof), challenger, gas=16_000_000)
        return committed, revealed

    def claim_withdrawal(self, sender: LocalAccount, batch: PostedBatch, position: int, index: int):
        return self.chain.transact(self.contract.functions.claimWithdrawal(batch.header, batch.target(position),
                                                                           index), sender)

    def claim_forced_withdrawal(self, sender: LocalAccount, batch: PostedBatch, position: int, offset: int,
                                entry: QueueEntry):
        return self.chain.transact(self.contract.functions.claimForcedWithdrawal(
            batch.header, batch.target(position), offset, entry_tuple(entry)), sender)

