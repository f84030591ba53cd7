"""Rollup state and the ONE state-transition function, `apply(state, tx) -> (new_state, receipt)`.

The sequencer, the challenger, the fraud-proof builder and the tests all call `apply`; the
contract's `OptimisticRollup.challengeTransition` re-executes the same rules (tested against each other).

Hashing (same as `OptimisticRules.sol`):
    state root   = keccak(abi.encode(accountsRoot, accountCount, fees[0], fees[1], fees[2], fees[3]))
    accountsRoot = sparse Merkle tree of `depth` levels (the deployment's `treeDepth`, 20 by default),
                   node = keccak(left || right), empty leaf = 0
    account leaf = keccak(abi.encode(address, nonce, balances[0..3]))

Accounts are created in index order (`account_count` is the next index), so a full tree can be
proven and a deposit that cannot be placed is refunded instead of stalling the queue.

States are immutable values. Tree nodes live in a content-addressed `NodeStore` shared by all
states derived from one another: a node, once written, never changes, so an old state stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import to_canonical_address, to_checksum_address

from l2.core.crypto import keccak
from l2.designs.optimistic import txs
from l2.designs.optimistic.errors import (
    BadSignature,
    InsufficientBalance,
    InvalidTransaction,
    NotTheProposer,
    QueueMismatch,
    SelfTransfer,
    UnknownAccount,
    UnknownToken,
    WrongNonce,
)
from l2.designs.optimistic.txs import (
    DEFAULT_TREE_DEPTH,
    MAX_NONCE,
    MAX_TOKENS,
    MAX_TREE_DEPTH,
    CollectFees,
    QueueOp,
    Transfer,
    Withdrawal,
)

ZERO_HASHES = [b"\0" * 32]
for _ in range(MAX_TREE_DEPTH):
    ZERO_HASHES.append(keccak(ZERO_HASHES[-1] * 2))
NO_FEES = (0, 0, 0, 0)


def empty_accounts_root(depth: int = DEFAULT_TREE_DEPTH) -> bytes:
    return ZERO_HASHES[depth]


EMPTY_ACCOUNTS_ROOT = empty_accounts_root()


@dataclass(frozen=True)
class Account:
    addr: bytes  # 20 bytes, canonical
    nonce: int = 0
    balances: tuple[int, int, int, int] = NO_FEES

    @property
    def address(self) -> str:
        return to_checksum_address(self.addr)

    def leaf(self) -> bytes:
        return leaf_hash(self)


def leaf_hash(account: Account | None) -> bytes:
    if account is None:
        return ZERO_HASHES[0]
    b = account.balances
    return keccak(
        account.addr.rjust(32, b"\0")
        + account.nonce.to_bytes(32, "big")
        + b[0].to_bytes(32, "big")
        + b[1].to_bytes(32, "big")
        + b[2].to_bytes(32, "big")
        + b[3].to_bytes(32, "big")
    )


def state_root(accounts_root: bytes, account_count: int, fees: tuple[int, ...]) -> bytes:
    return keccak(accounts_root + account_count.to_bytes(32, "big") + b"".join(f.to_bytes(32, "big") for f in fees))


def genesis_root(depth: int = DEFAULT_TREE_DEPTH) -> bytes:
    """The root every Rollup deployment of this tree depth starts from (`OptimisticRollup.genesisRoot`)."""
    return state_root(empty_accounts_root(depth), 0, NO_FEES)


GENESIS_ROOT = genesis_root()


class NodeStore:
    """Content-addressed tree nodes (hash -> children) and leaves (hash -> Account); append-only."""

    def __init__(self, depth: int = DEFAULT_TREE_DEPTH):
        self.depth = depth
        self.nodes: dict[bytes, tuple[bytes, bytes]] = {
            ZERO_HASHES[i + 1]: (ZERO_HASHES[i], ZERO_HASHES[i]) for i in range(depth)
        }
        self.leaves: dict[bytes, Account] = {}

    def path(self, root: bytes, index: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, siblings bottom-up) of `index` under `root`."""
        nodes = self.nodes
        node = root
        siblings = [b""] * self.depth
        for level in range(self.depth - 1, -1, -1):
            left, right = nodes[node]
            if (index >> level) & 1:
                siblings[level] = left
                node = right
            else:
                siblings[level] = right
                node = left
        return node, siblings

    def put(self, index: int, leaf: bytes, siblings: list[bytes]) -> bytes:
        """Write a leaf along a known path; returns the new root."""
        nodes = self.nodes
        node = leaf
        for level in range(self.depth):
            sibling = siblings[level]
            if (index >> level) & 1:
                parent = keccak(sibling + node)
                nodes[parent] = (sibling, node)
            else:
                parent = keccak(node + sibling)
                nodes[parent] = (node, sibling)
            node = parent
        return node


@dataclass(frozen=True)
class State:
    """One rollup state: the account tree root, the number of accounts, the fee pool, and the
    address directory.

    `directory` (address -> first account index) and `members` (index -> address, every account)
    help the sequencer and wallets; they are not part of the root. `account_count` is: accounts
    occupy indices 0 .. account_count - 1.
    """

    accounts_root: bytes = EMPTY_ACCOUNTS_ROOT
    fees: tuple[int, int, int, int] = NO_FEES
    account_count: int = 0
    directory: dict = field(default_factory=dict, compare=False, repr=False)
    members: dict = field(default_factory=dict, compare=False, repr=False)
    store: NodeStore = field(default_factory=NodeStore, compare=False, repr=False)
    root: bytes = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "root", state_root(self.accounts_root, self.account_count, self.fees))

    @classmethod
    def genesis(cls, depth: int = DEFAULT_TREE_DEPTH) -> State:
        """The empty state of a rollup whose account tree has `depth` levels."""
        if not 1 <= depth <= MAX_TREE_DEPTH:
            raise ValueError(f"tree depth must be 1..{MAX_TREE_DEPTH}, got {depth}")
        return cls(empty_accounts_root(depth), store=NodeStore(depth))

    @property
    def depth(self) -> int:
        return self.store.depth

    @property
    def capacity(self) -> int:
        """How many accounts the tree holds (`OptimisticRollup.maxAccounts`)."""
        return 1 << self.store.depth

    @property
    def is_full(self) -> bool:
        return self.account_count >= self.capacity

    def account(self, index: int) -> Account | None:
        if not 0 <= index < self.capacity:
            return None
        leaf, _ = self.store.path(self.accounts_root, index)
        return self.store.leaves.get(leaf) if leaf != ZERO_HASHES[0] else None

    def index_of(self, address: str) -> int | None:
        return self.directory.get(to_canonical_address(address))

    def proof(self, index: int) -> tuple[Account | None, list[bytes]]:
        """The account at `index` and its siblings, for a fraud proof witness."""
        leaf, siblings = self.store.path(self.accounts_root, index)
        return (self.store.leaves.get(leaf) if leaf != ZERO_HASHES[0] else None), siblings

    def with_account(self, index: int, account: Account, fees: tuple | None = None,
                     account_count: int | None = None) -> State:
        """A new state with `account` at `index` (and optionally a new fee pool or account count)."""
        _, siblings = self.store.path(self.accounts_root, index)
        leaf = leaf_hash(account)
        self.store.leaves[leaf] = account
        new_root = self.store.put(index, leaf, siblings)
        directory, members = self.directory, self.members
        if index not in members:
            members = {**members, index: account.addr}
            if account.addr not in directory:
                directory = {**directory, account.addr: index}
        return State(new_root, self.fees if fees is None else fees,
                     self.account_count if account_count is None else account_count, directory, members, self.store)

    def total(self, token: int) -> int:
        """Sum of every account's balance of `token` plus its fee pool (for tests and audits)."""
        return self.fees[token] + sum(self.account(i).balances[token] for i in self.members)


@dataclass(frozen=True)
class Outcome:
    """What a transition did: its kind and, for withdrawals and refunds, what L1 will pay to whom.

    (Not a Layer-1 transaction receipt, `l2.l1.chain.Receipt`.)"""

    kind: int
    withdrawal: tuple[str, int, int] | None = None  # (recipient, token, amount)
    created_account: int | None = None


def credit(balances: tuple, token: int, delta: int) -> tuple:
    b = list(balances)
    b[token] += delta
    return tuple(b)


def existing_account(state: State, token: int, index: int, role: str) -> Account:
    """Checks every transition on one account's balance of one token starts with; returns the account."""
    if not 0 <= token < MAX_TOKENS:
        raise UnknownToken(f"token id {token} does not exist (0 = ETH, 1..{MAX_TOKENS - 1} = registered ERC-20s)")
    if not 0 <= index < state.capacity:
        raise UnknownAccount(f"{role} index {index} is outside the account tree (< {state.capacity})")
    account = state.account(index)
    if account is None:
        raise UnknownAccount(f"{role} account {index} does not exist; deposit to create it")
    return account


def debit_sender(state: State, tx: Transfer | Withdrawal, domain_sep: bytes) -> Account:
    """Rules shared by Transfer and Withdrawal; returns the sender's account after the debit."""
    sender = existing_account(state, tx.token, tx.sender, "sender")
    if sender.nonce >= MAX_NONCE:
        raise WrongNonce(f"account {tx.sender} has used all its nonces")
    if tx.nonce is not None and tx.nonce != sender.nonce:
        raise WrongNonce(f"nonce {tx.nonce} is not account {tx.sender}'s next nonce {sender.nonce}")
    if txs.signer_of(tx, domain_sep, sender.nonce) != sender.addr:
        raise BadSignature(f"signature is not by the owner {sender.address} of account {tx.sender} "
                           f"over nonce {sender.nonce}")
    if sender.balances[tx.token] < tx.amount + tx.fee:
        raise InsufficientBalance(
            f"account {tx.sender} has {sender.balances[tx.token]} of token {tx.token}, "
            f"needs {tx.amount + tx.fee} (amount {tx.amount} + fee {tx.fee})"
        )
    return Account(sender.addr, sender.nonce + 1, credit(sender.balances, tx.token, -(tx.amount + tx.fee)))


def apply(state: State, tx: txs.Tx, domain_sep: bytes) -> tuple[State, Outcome]:
    """Apply one transaction; raises an InvalidTransaction subclass (state unchanged) if it breaks a rule.

    A batch containing a transaction for which this raises is fraudulent (see OptimisticRollup.challengeTransition).
    """
    if isinstance(tx, Transfer):
        if not 0 <= tx.to < state.capacity:
            raise UnknownAccount(f"recipient index {tx.to} is outside the account tree")
        if tx.sender == tx.to:
            raise SelfTransfer(f"account {tx.sender} cannot transfer to itself")
        sender = debit_sender(state, tx, domain_sep)
        recipient = state.account(tx.to)
        if recipient is None:
            raise UnknownAccount(f"recipient account {tx.to} does not exist; it must deposit first")
        fees = credit(state.fees, tx.token, tx.fee)
        mid = state.with_account(tx.sender, sender)
        credited = Account(recipient.addr, recipient.nonce, credit(recipient.balances, tx.token, tx.amount))
        return mid.with_account(tx.to, credited, fees), Outcome(txs.TX_TRANSFER)
    if isinstance(tx, Withdrawal):
        sender = debit_sender(state, tx, domain_sep)
        fees = credit(state.fees, tx.token, tx.fee)
        return state.with_account(tx.sender, sender, fees), Outcome(txs.TX_WITHDRAW, (tx.recipient, tx.token,
                                                                                      tx.amount))
    if isinstance(tx, QueueOp):
        return _apply_queue_op(state, tx)
    if isinstance(tx, CollectFees):
        return _apply_collect_fees(state, tx)
    raise InvalidTransaction(f"not a rollup transaction: {tx!r}")


def queue_op_for(state: State, entry: txs.QueueEntry) -> QueueOp:
    """The honest QueueOp consuming `entry` in `state` (what a correct sequencer posts).

    A deposit goes to its address's account, or opens the next index; if the tree is full and the
    address has no account, it is refunded (ok = 0, account 0), claimable on Layer 1. Constant time:
    nothing searches the tree.
    """
    addr = to_canonical_address(entry.addr)
    if entry.kind == txs.QUEUE_DEPOSIT:
        index = state.directory.get(addr)
        if index is not None:
            return QueueOp(index, 1, entry)
        if state.is_full:
            return QueueOp(0, 0, entry)
        return QueueOp(state.account_count, 1, entry)
    acct = state.account(entry.account_index)
    ok = acct is not None and acct.addr == addr and acct.balances[entry.token] >= entry.amount
    return QueueOp(entry.account_index, int(ok), entry)


def _apply_queue_op(state: State, op: QueueOp) -> tuple[State, Outcome]:
    entry = op.entry
    if entry is None:
        raise QueueMismatch("a QueueOp needs the L1 queue entry it consumes")
    addr = to_canonical_address(entry.addr)
    if entry.kind == txs.QUEUE_DEPOSIT and op.ok == 0:
        if not state.is_full:
            raise QueueMismatch(f"deposit {entry.index} is refunded while the account tree has room "
                                f"({state.account_count} of {state.capacity} accounts)")
        if op.account != 0:
            raise QueueMismatch(f"a refunded deposit names account 0, not {op.account}")
        return state, Outcome(txs.TX_QUEUE, (entry.addr, entry.token, entry.amount))
    if not 0 <= op.account < state.capacity:
        raise UnknownAccount(f"account index {op.account} is outside the account tree")
    acct = state.account(op.account)
    if entry.kind == txs.QUEUE_DEPOSIT:
        if op.ok != 1:
            raise QueueMismatch(f"deposit {entry.index} must have ok = 1 (or 0 for a refund), got {op.ok}")
        if op.account > state.account_count:
            raise QueueMismatch(f"deposit {entry.index} opens account {op.account}, but the next free one is "
                                f"{state.account_count}")
        if op.account == state.account_count:
            if acct is not None:  # unreachable in a state built by these rules; a forged one is refused
                raise QueueMismatch(f"account {op.account} is the next free index but is taken")
            new = Account(addr, 0, credit(Account(addr).balances, entry.token, entry.amount))
            return (state.with_account(op.account, new, account_count=state.account_count + 1),
                    Outcome(txs.TX_QUEUE, created_account=op.account))
        if acct is None or acct.addr != addr:
            owner = "nobody" if acct is None else acct.address
            raise QueueMismatch(f"deposit {entry.index} for {entry.addr} cannot go to account {op.account} of {owner}")
        new = Account(addr, acct.nonce, credit(acct.balances, entry.token, entry.amount))
        return state.with_account(op.account, new), Outcome(txs.TX_QUEUE)
    if op.account != entry.account_index:
        raise QueueMismatch(f"forced withdrawal {entry.index} is for account {entry.account_index}, not {op.account}")
    success = acct is not None and acct.addr == addr and acct.balances[entry.token] >= entry.amount
    if op.ok != int(success):
        raise QueueMismatch(f"forced withdrawal {entry.index} {'succeeds' if success else 'fails'} but ok = {op.ok}")
    if not success:
        return state, Outcome(txs.TX_QUEUE)
    new = Account(acct.addr, acct.nonce, credit(acct.balances, entry.token, -entry.amount))
    return state.with_account(op.account, new), Outcome(txs.TX_QUEUE, (entry.addr, entry.token, entry.amount))


def _apply_collect_fees(state: State, tx: CollectFees) -> tuple[State, Outcome]:
    acct = existing_account(state, tx.token, tx.account, "fee recipient")
    if tx.proposer is None or acct.addr != to_canonical_address(tx.proposer):
        raise NotTheProposer(f"fees can only be collected into the batch proposer's account, and account {tx.account} "
                             f"is {acct.address}'s, not {tx.proposer}'s")
    fees = list(state.fees)
    new = Account(acct.addr, acct.nonce, credit(acct.balances, tx.token, fees[tx.token]))
    fees[tx.token] = 0
    return state.with_account(tx.account, new, tuple(fees)), Outcome(txs.TX_COLLECT_FEES)


def with_raw_account(state: State, index: int, account: Account, fees: tuple | None = None) -> State:
    """Write an account without any rule: only for building deliberately faulty batches in tests/demo."""
    return state.with_account(index, account, fees)


__all__ = [
    "Account",
    "EMPTY_ACCOUNTS_ROOT",
    "GENESIS_ROOT",
    "NodeStore",
    "Outcome",
    "State",
    "ZERO_HASHES",
    "apply",
    "empty_accounts_root",
    "genesis_root",
    "leaf_hash",
    "queue_op_for",
    "state_root",
]
