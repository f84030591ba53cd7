"""The optimistic rollup's data: 8-byte transfers, commitments, batches, queue entries; the same layout
as `OptimisticRules.sol`.

Transfers carry no nonce and no signature (the nonce is the sender's, read from the state; the
signature is aggregated per commitment). Eight bytes, big-endian, 64 bits:

    from u20 | to u20 | amount f16 | fee f8

    f16 = 5-bit exponent | 11-bit mantissa, value = m * 10**e
    f8  = 4-bit exponent |  4-bit mantissa, value = m * 10**e (fees up to 15 * 10**15)

`to == 0` makes it a withdrawal: account 0 is never created (deposits open accounts from index 1), and
the amount is paid on Layer 1 to the sender account's owner once the batch is final. A transfer and a
withdrawal sign different EIP-712 types, so one cannot be replayed as the other.

A batch is a list of commitments, each one post-state root:

    transfers 0x01 | postRoot 32 | signature 48 (G1, compressed) | feeReceiver u32 | n u16 | n x 8
    queue     0x02 | postRoot 32 | count u8 | ok bits ceil(count / 8)   (the next `count` L1 queue entries)

Commitment leaf = keccak(postRoot || bodyHash); bodyHash = keccak(every byte of the commitment but the
root) for transfers, keccak(0x02 || count || ok bits || queueStart u64) for a queue commitment, where
queueStart is where it starts consuming (Layer 1 computes it, so a proof need not trust the prover).
The batch commits to the Merkle root of its leaves (`l2.core.merkle`).
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.core import eip712, merkle
from l2.core.crypto import keccak
from l2.designs.optimistic.errors import MalformedTransaction, UndecodableTransaction, UnrepresentableAmount

MAX_TREE_DEPTH = 20  # account indexes are 20 bits
MAX_NONCE = 2**32 - 1
TRANSFER_LENGTH = 8
COMMIT_TRANSFERS, COMMIT_QUEUE = 1, 2
TRANSFER_HEADER = 1 + 32 + 48 + 4 + 2
QUEUE_HEADER = 1 + 32 + 1
MAX_QUEUE_COUNT = 64  # entries one queue commitment consumes at most (a fraud proof replays them all)
DEFAULT_COMMITMENT_SIZE = 128  # k: transfers per commitment, a constructor parameter

QUEUE_DEPOSIT, QUEUE_FORCED_WITHDRAWAL = 0, 1

DOMAIN_NAME, DOMAIN_VERSION = "OptimisticRollup", "2"

TRANSFER_TYPE = eip712.StructType(
    "Transfer", (("uint32", "from"), ("uint32", "to"), ("uint256", "amount"), ("uint256", "fee"), ("uint32", "nonce")))
WITHDRAWAL_TYPE = eip712.StructType(
    "Withdrawal", (("uint32", "from"), ("uint256", "amount"), ("uint256", "fee"), ("uint32", "nonce")))
KEY_REGISTRATION_TYPE = eip712.StructType(
    "KeyRegistration", (("address", "owner"), ("bytes32", "keyHash")))


def domain(chain_id: int, rollup_address: str) -> bytes:
    return eip712.domain_separator(DOMAIN_NAME, DOMAIN_VERSION, chain_id, rollup_address)


# --- floats -------------------------------------------------------------------------------------

def _encode_float(value: int, exponent_bits: int, mantissa_bits: int, what: str) -> int:
    if type(value) is not int or value < 0:
        raise UnrepresentableAmount(f"{what} must be a non-negative integer, got {value!r}")
    mantissa, exponent = value, 0
    while mantissa >= 1 << mantissa_bits:
        if mantissa % 10:
            raise UnrepresentableAmount(f"{what} {value} has too many significant digits for {mantissa_bits} "
                                        f"bits of mantissa; round it (round_amount / round_fee)")
        mantissa //= 10
        exponent += 1
    if exponent >= 1 << exponent_bits:
        raise UnrepresentableAmount(f"{what} {value} is too large for the compact encoding")
    return (exponent << mantissa_bits) | mantissa


def encode_amount(value: int) -> int:
    return _encode_float(value, 5, 11, "amount")


def encode_fee(value: int) -> int:
    return _encode_float(value, 4, 4, "fee")


def decode_amount(raw: int) -> int:
    return (raw & 0x7FF) * 10 ** (raw >> 11)


def decode_fee(raw: int) -> int:
    return (raw & 0xF) * 10 ** (raw >> 4)


def _round(value: int, mantissa_bits: int) -> int:
    exponent = 0
    while value >= 1 << mantissa_bits:
        value //= 10
        exponent += 1
    return value * 10**exponent


def round_amount(value: int) -> int:
    """The largest amount <= value that 16 bits carry exactly (three significant digits, about)."""
    return _round(value, 11)


def amount_pieces(value: int) -> list[int]:
    """`value` as few amounts as the 16-bit float carries exactly, largest first (a balance of any
    precision leaves in two or three withdrawals: each takes the next ~3.3 significant digits)."""
    pieces = []
    while value > 0:
        pieces.append(round_amount(value))
        value -= pieces[-1]
    return pieces


def round_fee(value: int) -> int:
    return _round(value, 4)


# --- transfers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transfer:
    """Move `amount` from account `sender` to account `to` (same token), paying `fee` to the commitment's
    fee receiver. `to == 0`: a withdrawal to the sender's owner on Layer 1 (see `Withdrawal`)."""

    sender: int
    to: int
    amount: int
    fee: int = 0

    @property
    def is_withdrawal(self) -> bool:
        return self.to == 0

    def struct_hash(self, nonce: int) -> bytes:
        # Checked before hashing: a field the encoding refuses would otherwise reach the ABI encoder and
        # come out as a raw TypeError or OverflowError (or be signed, for a float equal to an integer).
        self.encode()
        if self.is_withdrawal:
            return WITHDRAWAL_TYPE.hash_struct({"from": self.sender, "amount": self.amount, "fee": self.fee,
                                                "nonce": nonce})
        return TRANSFER_TYPE.hash_struct({"from": self.sender, "to": self.to, "amount": self.amount, "fee": self.fee,
                                          "nonce": nonce})

    def message(self, domain_sep: bytes, nonce: int) -> bytes:
        """The 32 bytes the sender's BLS key signs (hashed to G1 under the signature tag)."""
        return eip712.typed_data_digest(domain_sep, self.struct_hash(nonce))

    def encode(self) -> bytes:
        for name, value in (("sender", self.sender), ("to", self.to)):
            if type(value) is not int or not 0 <= value < 1 << 20:
                raise MalformedTransaction(f"Transfer.{name} must be an account index below 2^20, got {value!r}")
        # A value of the wrong type is a malformed transfer, named as such; an integer the float cannot carry
        # is UnrepresentableAmount (round it).
        for name, value in (("amount", self.amount), ("fee", self.fee)):
            if type(value) is not int or value < 0:
                raise MalformedTransaction(f"Transfer.{name} must be a non-negative integer, got {value!r}")
        word = (self.sender << 44) | (self.to << 24) | (encode_amount(self.amount) << 8) | encode_fee(self.fee)
        return word.to_bytes(8, "big")

    @classmethod
    def decode(cls, data: bytes) -> Transfer:
        if len(data) != TRANSFER_LENGTH:
            raise UndecodableTransaction(f"a transfer is {TRANSFER_LENGTH} bytes, got {len(data)}")
        word = int.from_bytes(data, "big")
        return cls(word >> 44, (word >> 24) & 0xFFFFF, decode_amount((word >> 8) & 0xFFFF), decode_fee(word & 0xFF))


def Withdrawal(sender: int, amount: int, fee: int = 0) -> Transfer:  # noqa: N802 - reads as a type at call sites
    """A transfer to account 0: paid on Layer 1 to the owner of account `sender` once final."""
    return Transfer(sender, 0, amount, fee)


# --- commitments --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransferCommitment:
    post_root: bytes
    signature: bytes  # 48-byte compressed G1 aggregate of every transfer's signature
    fee_receiver: int
    transfers: tuple[Transfer, ...]

    kind = COMMIT_TRANSFERS

    def body(self) -> bytes:
        """Every byte but the kind and the root: what bodyHash covers after the kind."""
        return (self.signature + self.fee_receiver.to_bytes(4, "big") + len(self.transfers).to_bytes(2, "big")
                + b"".join(t.encode() for t in self.transfers))

    def encode(self) -> bytes:
        return bytes([COMMIT_TRANSFERS]) + self.post_root + self.body()

    def body_hash(self, queue_start: int = 0) -> bytes:
        return keccak(bytes([COMMIT_TRANSFERS]) + self.body())


@dataclass(frozen=True)
class QueueCommitment:
    post_root: bytes
    count: int
    ok: tuple[bool, ...]  # one per entry: a deposit is always ok, a forced withdrawal ok if it was paid

    kind = COMMIT_QUEUE

    def ok_bits(self) -> bytes:
        bits = 0
        for i, flag in enumerate(self.ok):
            bits |= int(flag) << i
        return bits.to_bytes((self.count + 7) // 8, "little")

    def encode(self) -> bytes:
        return bytes([COMMIT_QUEUE]) + self.post_root + bytes([self.count]) + self.ok_bits()

    def body_hash(self, queue_start: int) -> bytes:
        return keccak(bytes([COMMIT_QUEUE, self.count]) + self.ok_bits() + queue_start.to_bytes(8, "big"))


Commitment = TransferCommitment | QueueCommitment


def leaf(commitment: Commitment, queue_start: int = 0) -> bytes:
    return keccak(commitment.post_root + commitment.body_hash(queue_start))


def encode_batch(commitments: list[Commitment]) -> bytes:
    return b"".join(c.encode() for c in commitments)


def decode_batch(data: bytes, queue_start: int, max_transfers: int | None = None) -> list[tuple[Commitment, int]]:
    """The commitments of a batch's data, each with the queue position it starts at; UndecodableTransaction
    naming the offset where the data stops making sense (Layer 1 refuses such a batch the same way).
    `max_transfers`: the rollup's k (Layer 1 refuses a commitment of more transfers)."""
    out: list[tuple[Commitment, int]] = []
    at, cursor = 0, queue_start
    while at < len(data):
        kind = data[at]
        if kind == COMMIT_TRANSFERS:
            if at + TRANSFER_HEADER > len(data):
                raise UndecodableTransaction(f"truncated commitment at offset {at}")
            post_root = data[at + 1:at + 33]
            signature = data[at + 33:at + 81]
            fee_receiver = int.from_bytes(data[at + 81:at + 85], "big")
            n = int.from_bytes(data[at + 85:at + 87], "big")
            end = at + TRANSFER_HEADER + TRANSFER_LENGTH * n
            if n == 0 or end > len(data) or (max_transfers is not None and n > max_transfers):
                raise UndecodableTransaction(f"commitment at offset {at} declares {n} transfers")
            transfers = tuple(Transfer.decode(data[i:i + 8]) for i in range(at + TRANSFER_HEADER, end, 8))
            out.append((TransferCommitment(post_root, signature, fee_receiver, transfers), cursor))
        elif kind == COMMIT_QUEUE:
            if at + QUEUE_HEADER > len(data):
                raise UndecodableTransaction(f"truncated commitment at offset {at}")
            count = data[at + 33]
            end = at + QUEUE_HEADER + (count + 7) // 8
            if not 0 < count <= MAX_QUEUE_COUNT or end > len(data):
                raise UndecodableTransaction(f"queue commitment at offset {at} consumes {count} entries")
            bits = int.from_bytes(data[at + QUEUE_HEADER:end], "little")
            if bits >> count:
                raise UndecodableTransaction(f"queue commitment at offset {at} sets ok bits past its {count} entries")
            ok = tuple(bool(bits >> i & 1) for i in range(count))
            out.append((QueueCommitment(data[at + 1:at + 33], count, ok), cursor))
            cursor += count
        else:
            raise UndecodableTransaction(f"unknown commitment kind {kind} at offset {at}")
        at = end
    if not out:
        raise UndecodableTransaction("a batch has at least one commitment")
    return out


def commitments_root(leaves: list[bytes]) -> bytes:
    return merkle.root(leaves)


# --- the Layer-1 queue --------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueEntry:
    """One entry of the Layer-1 queue, as `QueueEntryAdded` reports it. Layer 1 assigns account indexes
    (one per owner and token, from 1 up), so applying an entry never searches the tree."""

    index: int
    kind: int
    account: int
    owner: bytes  # 20 bytes
    key_hash: bytes  # the owner's registered BLS key when the entry was queued (used to open an account)
    token: int
    amount: int
    timestamp: int = 0

    def hash(self, previous: int) -> int:
        """`OptimisticRules.queueHash`: the chained hash after this entry, truncated to 192 bits."""
        return int.from_bytes(keccak(
            previous.to_bytes(32, "big") + self.kind.to_bytes(32, "big") + self.account.to_bytes(32, "big")
            + self.owner.rjust(32, b"\0") + self.key_hash + self.token.to_bytes(32, "big")
            + self.amount.to_bytes(32, "big")), "big") & ((1 << 192) - 1)
