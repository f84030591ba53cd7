"""Rollup transactions: EIP-712 types, signing and the compact calldata encoding.

Encodings (every chunk in a batch ends with its 32-byte post-state root, added by `batch.py`):

    Transfer  0x01 | from u32 | to u32 | token u8 | amount f40 | fee f16 | r | vs        (81 B)
    Withdrawal  0x02 | from u32 | recipient 20 B | token u8 | amount f40 | fee f16 | r | vs (97 B)
    QueueOp   0x03 | account u32 | ok u8                                                 ( 6 B)
    CollectFees 0x04 | account u32 | token u8                                            ( 6 B)

f40 = 5-bit exponent | 35-bit mantissa, value = m * 10**e; f16 = 5-bit exponent | 11-bit mantissa.
The nonce is not in the calldata: it is the sender's current nonce, which the signature covers.
Same layout as `contracts/optimistic/OptimisticRules.sol`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_utils import to_canonical_address, to_checksum_address

from l2.core import crypto, eip712
from l2.core.crypto import keccak
from l2.designs.optimistic.errors import (
    BadSignature,
    MalformedTransaction,
    UndecodableTransaction,
    UnrepresentableAmount,
)

DEFAULT_TREE_DEPTH = 20  # a deployment's `treeDepth`; 20 levels hold 1,048,576 accounts
MAX_TREE_DEPTH = 32  # account indexes are u32 in calldata
MAX_TOKENS = 4
MAX_NONCE = 2**32 - 1

TX_TRANSFER, TX_WITHDRAW, TX_QUEUE, TX_COLLECT_FEES = 1, 2, 3, 4
BODY_LENGTH = {TX_TRANSFER: 81, TX_WITHDRAW: 97, TX_QUEUE: 6, TX_COLLECT_FEES: 6}

QUEUE_DEPOSIT, QUEUE_FORCED_WITHDRAWAL = 0, 1

DOMAIN_NAME, DOMAIN_VERSION = "OptimisticRollup", "1"

TRANSFER_TYPE = eip712.StructType(
    "Transfer",
    (
        ("uint32", "from"),
        ("uint32", "to"),
        ("uint8", "token"),
        ("uint256", "amount"),
        ("uint256", "fee"),
        ("uint32", "nonce"),
    ),
)
WITHDRAW_TYPE = eip712.StructType(
    "Withdrawal",
    (
        ("uint32", "from"),
        ("address", "recipient"),
        ("uint8", "token"),
        ("uint256", "amount"),
        ("uint256", "fee"),
        ("uint32", "nonce"),
    ),
)
_TRANSFER_TYPEHASH = TRANSFER_TYPE.typehash
_WITHDRAW_TYPEHASH = WITHDRAW_TYPE.typehash


def domain(chain_id: int, rollup_address: str) -> bytes:
    """EIP-712 domain separator of one Rollup deployment."""
    return eip712.domain_separator(DOMAIN_NAME, DOMAIN_VERSION, chain_id, rollup_address)


# --- compact numbers -----------------------------------------------------------------------

def _encode_float(value: int, mantissa_bits: int, what: str) -> int:
    if value < 0:
        raise UnrepresentableAmount(f"{what} cannot be negative: {value}")
    mantissa, exponent = value, 0
    while mantissa >= 1 << mantissa_bits:
        if mantissa % 10:
            raise UnrepresentableAmount(
                f"{what} {value} has too many significant digits for the compact encoding "
                f"(mantissa < 2^{mantissa_bits}); round it"
            )
        mantissa //= 10
        exponent += 1
    if exponent > 31:
        raise UnrepresentableAmount(f"{what} {value} is too large for the compact encoding")
    return (exponent << mantissa_bits) | mantissa


def encode_amount(value: int) -> bytes:
    return _encode_float(value, 35, "amount").to_bytes(5, "big")


def encode_fee(value: int) -> bytes:
    return _encode_float(value, 11, "fee").to_bytes(2, "big")


def decode_amount(raw: bytes) -> int:
    v = int.from_bytes(raw, "big")
    return (v & ((1 << 35) - 1)) * 10 ** (v >> 35)


def decode_fee(raw: bytes) -> int:
    v = int.from_bytes(raw, "big")
    return (v & 0x7FF) * 10 ** (v >> 11)


def round_amount(value: int) -> int:
    """Largest amount <= value that the compact encoding represents exactly."""
    exponent = 0
    while value >= 1 << 35:
        value //= 10
        exponent += 1
    return value * 10**exponent


# --- transaction types -----------------------------------------------------------------------

@dataclass(frozen=True)
class Transfer:
    """Move `amount` of `token` from account `sender` to account `to`, paying `fee` to the fee pool."""

    sender: int
    to: int
    token: int
    amount: int
    fee: int = 0
    signature: bytes = b""  # 64-byte EIP-2098
    nonce: int | None = None  # what the wallet signed; None when decoded from calldata

    kind = TX_TRANSFER

    def struct_hash(self, nonce: int) -> bytes:
        return keccak(
            _TRANSFER_TYPEHASH
            + self.sender.to_bytes(32, "big")
            + self.to.to_bytes(32, "big")
            + self.token.to_bytes(32, "big")
            + self.amount.to_bytes(32, "big")
            + self.fee.to_bytes(32, "big")
            + nonce.to_bytes(32, "big")
        )

    def encode(self) -> bytes:
        return (
            bytes([TX_TRANSFER])
            + self.sender.to_bytes(4, "big")
            + self.to.to_bytes(4, "big")
            + bytes([self.token])
            + encode_amount(self.amount)
            + encode_fee(self.fee)
            + _sig(self.signature)
        )


@dataclass(frozen=True)
class Withdrawal:
    """Burn `amount` of `token` from account `sender` on L2; claimable by `recipient` on L1 once final."""

    sender: int
    recipient: str
    token: int
    amount: int
    fee: int = 0
    signature: bytes = b""
    nonce: int | None = None

    kind = TX_WITHDRAW

    def struct_hash(self, nonce: int) -> bytes:
        return keccak(
            _WITHDRAW_TYPEHASH
            + self.sender.to_bytes(32, "big")
            + to_canonical_address(self.recipient).rjust(32, b"\0")
            + self.token.to_bytes(32, "big")
            + self.amount.to_bytes(32, "big")
            + self.fee.to_bytes(32, "big")
            + nonce.to_bytes(32, "big")
        )

    def encode(self) -> bytes:
        return (
            bytes([TX_WITHDRAW])
            + self.sender.to_bytes(4, "big")
            + to_canonical_address(self.recipient)
            + bytes([self.token])
            + encode_amount(self.amount)
            + encode_fee(self.fee)
            + _sig(self.signature)
        )


@dataclass(frozen=True)
class QueueEntry:
    """One entry of the L1 queue (a deposit or a forced withdrawal), as `QueueEntryAdded` reports it."""

    index: int
    kind: int
    addr: str
    account_index: int
    token: int
    amount: int
    timestamp: int = 0

    def as_tuple(self) -> tuple:
        return (self.kind, self.addr, self.account_index, self.token, self.amount)


_U192 = (1 << 192) - 1


def queue_hash(previous: int, entry: QueueEntry) -> int:
    """`OptimisticRules.queueHash`: the chained hash after `entry`, truncated to 192 bits."""
    return int.from_bytes(keccak(
        previous.to_bytes(32, "big")
        + entry.kind.to_bytes(32, "big")
        + to_canonical_address(entry.addr).rjust(32, b"\0")
        + entry.account_index.to_bytes(32, "big")
        + entry.token.to_bytes(32, "big")
        + entry.amount.to_bytes(32, "big")
    ), "big") & _U192


def queue_hash_bytes(chained: int) -> bytes:
    """The 32-byte word `OptimisticRollup.queueHashAt` returns for a chained hash (0 for an empty prefix)."""
    return chained.to_bytes(32, "big")


@dataclass(frozen=True)
class QueueOp:
    """Consume the next L1 queue entry: credit a deposit to `account`, or perform a forced withdrawal
    (`ok` = 1 if it succeeded). `entry` comes from Layer 1, not from the calldata."""

    account: int
    ok: int
    entry: QueueEntry | None = None

    kind = TX_QUEUE

    def encode(self) -> bytes:
        return bytes([TX_QUEUE]) + self.account.to_bytes(4, "big") + bytes([self.ok])


@dataclass(frozen=True)
class CollectFees:
    """Move the whole fee pool of `token` to `account`, which must be the batch proposer's account.

    Without it fees would stay in the bridge forever; giving them to whoever posts the batch pays for
    posting. `proposer` is the batch header's proposer, from Layer 1, not from the calldata."""

    account: int
    token: int
    proposer: str | None = None

    kind = TX_COLLECT_FEES

    def encode(self) -> bytes:
        return bytes([TX_COLLECT_FEES]) + self.account.to_bytes(4, "big") + bytes([self.token])


Tx = Transfer | Withdrawal | QueueOp | CollectFees


def attach(tx: Tx, nonce: int | None = None, entry: QueueEntry | None = None, proposer: str | None = None) -> Tx:
    """`tx` with what its calldata leaves out: the signed nonce (Transfer, Withdrawal), the L1 queue entry
    (QueueOp) or the batch's proposer (CollectFees)."""
    if isinstance(tx, QueueOp):
        return replace(tx, entry=entry)
    if isinstance(tx, CollectFees):
        return replace(tx, proposer=proposer)
    return replace(tx, nonce=nonce)


def _check_uint(tx, name: str, bits: int) -> None:
    value = getattr(tx, name)
    if type(value) is not int:  # bool is an int subclass; a True amount is a bug, not 1 wei
        raise MalformedTransaction(f"{type(tx).__name__}.{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise MalformedTransaction(f"{type(tx).__name__}.{name} must be in 0..2^{bits}-1, got {value}")


def check_fields(tx: Transfer | Withdrawal, need_nonce: bool = True, signed: bool = True) -> None:
    """MalformedTransaction (naming the field) unless every field of a user transaction has its type
    and range: run where a transaction enters (the sequencer's `submit`), before anything is signed,
    applied or stored, so no malformed value reaches hashing or encoding as a raw Python error."""
    if not isinstance(tx, (Transfer, Withdrawal)):
        raise MalformedTransaction(f"expected a Transfer or Withdrawal, got {type(tx).__name__}")
    _check_uint(tx, "sender", 32)
    if isinstance(tx, Transfer):
        _check_uint(tx, "to", 32)
    else:
        if not isinstance(tx.recipient, str):
            raise MalformedTransaction(
                f"Withdrawal.recipient must be an address string, got {type(tx.recipient).__name__}")
        try:
            to_canonical_address(tx.recipient)
        except (ValueError, TypeError):
            raise MalformedTransaction(f"Withdrawal.recipient is not an address: {tx.recipient!r}") from None
    _check_uint(tx, "token", 8)
    _check_uint(tx, "amount", 256)
    _check_uint(tx, "fee", 256)
    if signed and (not isinstance(tx.signature, (bytes, bytearray)) or len(tx.signature) != 64):
        raise MalformedTransaction(f"{type(tx).__name__}.signature must be 64 bytes (EIP-2098)")
    if tx.nonce is None:
        if need_nonce:
            raise MalformedTransaction(
                f"{type(tx).__name__}.nonce is missing: a submission carries the nonce it signed")
    else:
        _check_uint(tx, "nonce", 32)
    encode_amount(tx.amount)  # UnrepresentableAmount (an InputError) if the compact encoding cannot carry it
    encode_fee(tx.fee)


def _sig(signature: bytes) -> bytes:
    if len(signature) != 64:
        raise BadSignature(f"a rollup transaction needs a 64-byte EIP-2098 signature, got {len(signature)} bytes")
    return signature


def sign(tx: Transfer | Withdrawal, private_key: bytes, domain_sep: bytes, nonce: int) -> Transfer | Withdrawal:
    """Return `tx` signed (compact EIP-2098) by `private_key` for the given nonce."""
    digest = eip712.typed_data_digest(domain_sep, tx.struct_hash(nonce))
    return replace(tx, signature=crypto.Signer(private_key).sign_compact(digest), nonce=nonce)


def signer_of(tx: Transfer | Withdrawal, domain_sep: bytes, nonce: int) -> bytes | None:
    """20-byte address that signed `tx` for `nonce`, or None if the signature is malformed or malleable
    (the rules of `Signatures.tryRecoverCompact`, which re-executes it on Layer 1)."""
    return crypto.try_recover_compact(eip712.typed_data_digest(domain_sep, tx.struct_hash(nonce)), tx.signature)


def decode(body: bytes) -> Tx:
    """Decode one transaction body (without post root); UndecodableTransaction if malformed."""
    if not body:
        raise UndecodableTransaction("empty transaction")
    kind = body[0]
    if kind not in BODY_LENGTH:
        raise UndecodableTransaction(
            f"unknown transaction type {kind}; expected 1 (transfer), 2 (withdraw), 3 (queue), 4 (collect fees)")
    if len(body) != BODY_LENGTH[kind]:
        raise UndecodableTransaction(f"transaction type {kind} is {BODY_LENGTH[kind]} bytes, got {len(body)}")
    if kind == TX_TRANSFER:
        return Transfer(
            sender=int.from_bytes(body[1:5], "big"),
            to=int.from_bytes(body[5:9], "big"),
            token=body[9],
            amount=decode_amount(body[10:15]),
            fee=decode_fee(body[15:17]),
            signature=body[17:81],
        )
    if kind == TX_WITHDRAW:
        return Withdrawal(
            sender=int.from_bytes(body[1:5], "big"),
            recipient=to_checksum_address(body[5:25]),
            token=body[25],
            amount=decode_amount(body[26:31]),
            fee=decode_fee(body[31:33]),
            signature=body[33:97],
        )
    if kind == TX_COLLECT_FEES:
        return CollectFees(account=int.from_bytes(body[1:5], "big"), token=body[5])
    return QueueOp(account=int.from_bytes(body[1:5], "big"), ok=body[5])
