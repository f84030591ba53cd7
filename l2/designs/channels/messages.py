"""The signed message types of the channel protocol, twins of `ChannelRegistry.sol`.

Each type is an EIP-712 struct whose type hash is computed once at import (see
`l2/core/eip712.py`); each carries the channel id and a message type, and the domain
binds it to one chain and one registry contract, so a signature is never valid
on another channel, contract, chain or purpose.

Signing and recovery are `l2.core.crypto`'s (libsecp256k1 through coincurve): a
payment is two signatures and two recoveries, the hot path of the whole protocol.

Messages travel as JSON-ready dicts; each type has one decoder here (`decode_*`), which every
entry point of a party calls first: it checks each field's JSON type, range and length and
raises the `MalformedMessage` subclass naming the field, before anything is checked, signed
or stored.
"""

from __future__ import annotations

from dataclasses import dataclass

# The project's one signer and recoverer; the channel's modules and tests take them from here too.
from l2.core.crypto import Signer, check_format, check_signer, keccak, recover  # noqa: F401
from l2.core.eip712 import StructType, domain_separator, typed_data_digest
from l2.designs.channels.rules import BalanceProof, CooperativeClose, Fields, Withdraw

DOMAIN_NAME = "ChannelRegistry"
DOMAIN_VERSION = "1"

MSG_BALANCE_PROOF = 1
MSG_WITHDRAW = 2
MSG_COOPERATIVE_CLOSE = 3

BALANCE_PROOF = StructType(
    "BalanceProof",
    (
        ("bytes32", "channelId"),
        ("uint8", "messageType"),
        ("uint64", "nonce"),
        ("uint256", "transferredA"),
        ("uint256", "transferredB"),
        ("uint256", "lockedA"),
        ("uint256", "lockedB"),
        ("bytes32", "locksRoot"),
    ),
)
WITHDRAW = StructType(
    "Withdraw",
    (
        ("bytes32", "channelId"),
        ("uint8", "messageType"),
        ("address", "participant"),
        ("uint256", "totalWithdraw"),
        ("uint64", "expiry"),
    ),
)
# Bound to the running totals it was computed on and to an expiry, so it can never be replayed
# (see `rules.CooperativeClose`).
COOPERATIVE_CLOSE = StructType(
    "CooperativeClose",
    (
        ("bytes32", "channelId"),
        ("uint8", "messageType"),
        ("uint256", "balanceA"),
        ("uint256", "balanceB"),
        ("uint256", "depositA"),
        ("uint256", "depositB"),
        ("uint256", "withdrawnA"),
        ("uint256", "withdrawnB"),
        ("uint64", "expiry"),
    ),
)

_BALANCE_PROOF_TYPEHASH = BALANCE_PROOF.typehash
_MSG_BALANCE_PROOF_WORD = MSG_BALANCE_PROOF.to_bytes(32, "big")


@dataclass(frozen=True)
class ChannelDomain:
    """The EIP-712 domain of one registry on one chain."""

    chain_id: int
    registry: str

    @property
    def separator(self) -> bytes:
        sep = self.__dict__.get("_separator")
        if sep is None:
            sep = domain_separator(DOMAIN_NAME, DOMAIN_VERSION, self.chain_id, self.registry)
            object.__setattr__(self, "_separator", sep)
        return sep


def balance_proof_digest(domain: ChannelDomain, proof) -> bytes:
    """EIP-712 digest of a `rules.BalanceProof` (hand-inlined encoding: the hot path)."""
    struct_hash = keccak(
        _BALANCE_PROOF_TYPEHASH
        + proof.channel_id
        + _MSG_BALANCE_PROOF_WORD
        + proof.nonce.to_bytes(32, "big")
        + proof.transferred_a.to_bytes(32, "big")
        + proof.transferred_b.to_bytes(32, "big")
        + proof.locked_a.to_bytes(32, "big")
        + proof.locked_b.to_bytes(32, "big")
        + proof.locks_root
    )
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


def withdraw_digest(domain: ChannelDomain, channel_id: bytes, participant: str, total_withdraw: int,
                    expiry: int) -> bytes:
    struct_hash = WITHDRAW.hash_struct(
        {
            "channelId": channel_id,
            "messageType": MSG_WITHDRAW,
            "participant": participant,
            "totalWithdraw": total_withdraw,
            "expiry": expiry,
        }
    )
    return typed_data_digest(domain.separator, struct_hash)


def cooperative_close_digest(domain: ChannelDomain, close) -> bytes:
    """EIP-712 digest of a `rules.CooperativeClose`."""
    struct_hash = COOPERATIVE_CLOSE.hash_struct(
        {"channelId": close.channel_id, "messageType": MSG_COOPERATIVE_CLOSE, **close.typed_values()}
    )
    return typed_data_digest(domain.separator, struct_hash)



# ------------------------------------------------------------------ wire messages, one decoder each


def _signature(f: Fields) -> bytes:
    """The `signature` field: 0x-hex, then the checks that need no elliptic-curve work (InvalidSignature)."""
    signature = f.hex_bytes("signature")
    check_format(signature)
    return signature


def decode_balance_proof_message(message) -> tuple[BalanceProof, bytes]:
    """A payer's proposal `{"type": "BalanceProof", "proof": {...}, "signature": "0x..."}`: (proof, signature)."""
    f = Fields("BalanceProof", message)
    f.expect_type("BalanceProof")
    proof = BalanceProof.from_json(f.raw("proof"), kind="BalanceProof", prefix="proof.")
    return proof, _signature(f)


def decode_balance_proof_ack(message, ours: tuple[dict, BalanceProof] | None = None) -> tuple[BalanceProof, bytes]:
    """A receiver's counter-signature `{"type": "BalanceProofAck", "proof": {...}, "signature": "0x..."}`.

    `ours` is the (JSON, value) of the proposal it should acknowledge: a proof that is our own JSON,
    value for value and type for type, is well-formed by construction and is not parsed again (one
    ack per payment: the hot path).
    """
    f = Fields("BalanceProofAck", message)
    f.expect_type("BalanceProofAck")
    raw = f.raw("proof")
    signature = _signature(f)
    if ours is not None and raw == ours[0] and all(type(raw[k]) is type(v) for k, v in ours[0].items()):
        return ours[1], signature  # exactly our JSON (types too: True == 1 and 1.0 == 1 in Python, not in JSON)
    return BalanceProof.from_json(raw, kind="BalanceProofAck", prefix="proof."), signature


def decode_withdraw_message(message) -> tuple[Withdraw, bytes]:
    """`{"type": "Withdraw", "channelId", "participant", "totalWithdraw", "expiry", "signature"}`."""
    f = Fields("Withdraw", message)
    f.expect_type("Withdraw")
    return Withdraw.from_json(message), _signature(f)


def decode_cooperative_close_message(message) -> tuple[CooperativeClose, bytes]:
    """`{"type": "CooperativeClose", "channelId", "balanceA", ..., "expiry", "signature"}`."""
    f = Fields("CooperativeClose", message)
    f.expect_type("CooperativeClose")
    return CooperativeClose.from_json(message), _signature(f)
