"""The zk-rollup's state and its one set of rules, as pure functions over immutable values.

State: accounts in a 4-ary Poseidon Merkle tree of 2^depth leaves (depth, the index bits, is a deployment
parameter: 20 for real use, even, so the tree has depth / 2 levels).
    leaf  = Poseidon(pkHash, balance, nonce)       pkHash = Poseidon(Ax, Ay) of the owner's BabyJubJub key
    node  = Poseidon(c0, c1, c2, c3)                an empty account is the leaf of (0, 0, 0)
The child of a node at level l that holds account i is c[(i >> 2l) & 3]. 4-ary because a Poseidon(4) node
costs the circuit 297 constraints for two index bits where a binary Poseidon(2) node costs 240 for one.
Account 0 is never registered: a transfer to it is a withdrawal to the sender's Layer-1 address, and an
all-zero transaction from it is an empty slot.

`apply_entry`, `apply_transfer` and `apply_fees` are what the circuit (circuits/zk/rollup.circom) proves;
the operator, the witness builder, the exodus proofs and the tests all use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from l2.designs.zk import babyjub
from l2.designs.zk.errors import MalformedTx, TxRejected
from l2.designs.zk.poseidon import P, poseidon

MAX_BALANCE = (1 << 128) - 1
MAX_INDEX_BITS = 24  # indexes are published as 3 bytes


# --- decimal floats: amounts (40 bits: 35-bit mantissa) and fees (16 bits: 11-bit mantissa) --------------

def float_encode(value: int, mantissa_bits: int = 35) -> int:
    """mantissa << 5 | exponent with value = mantissa * 10^exponent; MalformedTx if no such pair exists."""
    if value < 0:
        raise MalformedTx(f"amount {value} is negative")
    mantissa, exponent = value, 0
    while mantissa >= 1 << mantissa_bits:
        if mantissa % 10 or exponent == 31:
            raise MalformedTx(f"amount {value} is not a {mantissa_bits}-bit mantissa times a power of ten; "
                              "round it (e.g. to whole gwei)")
        mantissa, exponent = mantissa // 10, exponent + 1
    return mantissa << 5 | exponent


def float_decode(encoded: int, mantissa_bits: int = 35) -> int:
    if not 0 <= encoded < 1 << (mantissa_bits + 5):
        raise MalformedTx(f"float {encoded} does not fit {mantissa_bits + 5} bits")
    return (encoded >> 5) * 10 ** (encoded & 31)


def fee_encode(value: int) -> int:
    return float_encode(value, 11)


def fee_decode(encoded: int) -> int:
    return float_decode(encoded, 11)


def pk_hash(pub: babyjub.Point) -> int:
    return poseidon([pub[0], pub[1]])


# --- state ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    pk: int = 0  # Poseidon(Ax, Ay); 0 while the slot is empty
    balance: int = 0
    nonce: int = 0

    def leaf(self) -> int:
        return poseidon([self.pk, self.balance, self.nonce])


EMPTY = Account()


ARITY = 4


def levels(depth: int) -> int:
    return depth // 2


def _zero_hashes(depth: int) -> list[int]:
    zeros = [EMPTY.leaf()]
    for _ in range(levels(depth)):
        zeros.append(poseidon([zeros[-1]] * ARITY))
    return zeros


_ZEROS: dict[int, list[int]] = {}


def zero_hashes(depth: int) -> list[int]:
    """The empty tree's node at each level, leaves first; the last one is its root."""
    if depth not in _ZEROS:
        _ZEROS[depth] = _zero_hashes(depth)
    return _ZEROS[depth]


@dataclass(frozen=True)
class State:
    """Accounts by index and the tree's non-empty nodes ({(level, position): hash}); never mutated."""

    depth: int
    accounts: dict[int, Account] = field(default_factory=dict)
    nodes: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self):
        if not 2 <= self.depth <= MAX_INDEX_BITS or self.depth % 2:
            raise MalformedTx(f"tree depth {self.depth} is not an even number of index bits in 2..{MAX_INDEX_BITS}")

    @property
    def root(self) -> int:
        return self.node(levels(self.depth), 0)

    def node(self, level: int, position: int) -> int:
        return self.nodes.get((level, position), zero_hashes(self.depth)[level])

    def account(self, index: int) -> Account:
        return self.accounts.get(index, EMPTY)

    def children(self, index: int) -> list[list[int]]:
        """The four children of each node on the path of `index`, level 0 (the leaves) first: what the
        circuit hashes."""
        self._check_index(index)
        out = []
        for level in range(levels(self.depth)):
            first = (index >> (2 * level)) & ~3
            out.append([self.node(level, first + k) for k in range(ARITY)])
        return out

    def siblings(self, index: int) -> list[list[int]]:
        """The Merkle proof of `index`: at each level the three other children, in order (ZkRollup.exit)."""
        return [[c for k, c in enumerate(kids) if k != (index >> (2 * level)) & 3]
                for level, kids in enumerate(self.children(index))]

    def with_account(self, index: int, account: Account) -> State:
        self._check_index(index)
        nodes = dict(self.nodes)
        value = account.leaf()
        zeros = zero_hashes(self.depth)
        for level in range(levels(self.depth) + 1):
            position = index >> (2 * level)
            nodes[(level, position)] = value
            if level < levels(self.depth):
                first = position & ~3
                value = poseidon([nodes.get((level, first + k), zeros[level]) for k in range(ARITY)])
        accounts = dict(self.accounts)
        accounts[index] = account
        return replace(self, accounts=accounts, nodes=nodes)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < 1 << self.depth:
            raise MalformedTx(f"account {index} is outside a tree of depth {self.depth}")

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values())


def merkle_root(leaf: int, index: int, siblings: list[list[int]]) -> int:
    """The root that `siblings` prove for `leaf` at `index` (what ZkRollup.exit recomputes)."""
    value = leaf
    for level, others in enumerate(siblings):
        kids = list(others)
        kids.insert((index >> (2 * level)) & 3, value)
        value = poseidon(kids)
    return value


# --- Layer-1 queue entries and Layer-2 transfers -----------------------------------------------------

@dataclass(frozen=True)
class QueueEntry:
    """One entry of ZkRollup's queue: a registration (pk != 0, fresh index) or a deposit (pk == 0)."""

    index: int
    pk: int
    amount_f: int

    @property
    def amount(self) -> int:
        return float_decode(self.amount_f)

    def encode(self) -> bytes:
        return self.index.to_bytes(3, "big") + self.pk.to_bytes(32, "big") + self.amount_f.to_bytes(5, "big")


EMPTY_ENTRY = QueueEntry(0, 0, 0)


@dataclass(frozen=True)
class Transfer:
    """A signed Layer-2 transaction; to = 0 is a withdrawal of `amount` to the sender's Layer-1 address."""

    from_: int
    to: int
    amount_f: int
    fee_f: int
    nonce: int
    pub: babyjub.Point = babyjub.IDENTITY
    sig: babyjub.Signature = babyjub.Signature(babyjub.IDENTITY, 0)

    @property
    def amount(self) -> int:
        return float_decode(self.amount_f)

    @property
    def fee(self) -> int:
        return fee_decode(self.fee_f)

    @property
    def is_withdrawal(self) -> bool:
        return self.to == 0 and self.from_ != 0

    def message(self, domain: int) -> int:
        return poseidon([domain, self.from_, self.to, self.amount_f, self.fee_f, self.nonce])

    def encode(self) -> bytes:
        """13 bytes of public data: from(3) to(3) amount(5) fee(2); the nonce and signature stay off chain."""
        return (self.from_.to_bytes(3, "big") + self.to.to_bytes(3, "big") + self.amount_f.to_bytes(5, "big")
                + self.fee_f.to_bytes(2, "big"))


def transfer(key: bytes, domain: int, from_: int, to: int, amount: int, fee: int, nonce: int) -> Transfer:
    """A transfer (or, with to = 0, a withdrawal) signed with the BabyJubJub key `key`."""
    unsigned = Transfer(from_, to, float_encode(amount), fee_encode(fee), nonce)
    pub = babyjub.public_key(key)
    return replace(unsigned, pub=pub, sig=babyjub.sign(key, unsigned.message(domain)))


EMPTY_SLOT_KEY = b"zk-rollup empty slot"  # signs empty slots: the circuit checks every slot's signature shape


def empty_slot(domain: int) -> Transfer:
    unsigned = Transfer(0, 0, 0, 0, 0)
    return replace(unsigned, pub=babyjub.public_key(EMPTY_SLOT_KEY),
                   sig=babyjub.sign(EMPTY_SLOT_KEY, unsigned.message(domain)))


# --- the rules ---------------------------------------------------------------------------------------

def apply_entry(state: State, entry: QueueEntry) -> State:
    account = state.account(entry.index)
    if entry.index == 0:
        raise TxRejected("account 0 is reserved (withdrawals and empty slots)")
    if entry.pk:
        if account != EMPTY:
            raise TxRejected(f"registration at account {entry.index}, which is taken")
        if not 0 < entry.pk < P:
            raise MalformedTx("a key hash must be a non-zero field element")
        return state.with_account(entry.index, Account(entry.pk, entry.amount, 0))
    if account.pk == 0:
        raise TxRejected(f"deposit to account {entry.index}, which is not registered")
    return state.with_account(entry.index, replace(account, balance=_checked(account.balance + entry.amount)))


def apply_transfer(state: State, tx: Transfer, domain: int) -> State:
    """Check a signed transfer or withdrawal against the state (TxRejected / BadSignature) and apply it."""
    if tx.from_ == 0:
        raise TxRejected("transfers come from registered accounts (account 0 is reserved)")
    sender = state.account(tx.from_)
    if sender.pk == 0:
        raise TxRejected(f"account {tx.from_} is not registered")
    if pk_hash(tx.pub) != sender.pk:
        raise TxRejected(f"the key given is not account {tx.from_}'s")
    if tx.nonce != sender.nonce:
        raise TxRejected(f"account {tx.from_} expects nonce {sender.nonce}, not {tx.nonce}")
    babyjub.check(tx.pub, tx.message(domain), tx.sig)
    cost = tx.amount + tx.fee
    if cost > sender.balance:
        raise TxRejected(f"account {tx.from_} has {sender.balance} wei, not {cost} (amount + fee)")
    state = state.with_account(tx.from_, replace(sender, balance=sender.balance - cost, nonce=sender.nonce + 1))
    if tx.is_withdrawal:
        return state
    receiver = state.account(tx.to)
    if receiver.pk == 0:
        raise TxRejected(f"account {tx.to} is not registered")
    return state.with_account(tx.to, replace(receiver, balance=_checked(receiver.balance + tx.amount)))


def apply_fees(state: State, fee_index: int, fees: int) -> State:
    account = state.account(fee_index)
    if fees and account.pk == 0:
        raise TxRejected(f"fees go to a registered account, and {fee_index} is not one")
    return state.with_account(fee_index, replace(account, balance=_checked(account.balance + fees)))


def _checked(balance: int) -> int:
    if balance > MAX_BALANCE:
        raise TxRejected("a balance would exceed 2^128 - 1 wei")
    return balance
