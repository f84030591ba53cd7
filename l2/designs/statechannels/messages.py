"""The signed messages of state channels, twins of `Adjudicator.sol`'s EIP-712 types.

`State(bytes32 channelId,uint8 messageType,uint256[] outcome,bytes appData,uint48 turnNum,bool isFinal)` is
what every participant signs; `Challenge(bytes32 channelId,uint8 messageType,bytes32 stateHash)` is what a
challenger signs. The domain (name "Adjudicator", chain id, adjudicator address) binds a signature to one
chain and one adjudicator, the channel id (the hash of the fixed part: participants, nonce, app, duration,
asset) to one channel and one app, and the message type to one purpose. Type hashes are computed once;
hashing is one concatenation and a keccak (the hot path of every move). `tests/designs/statechannels`
checks the digests against eth-account and against the contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.core.crypto import Signer, keccak, recover
from l2.core.eip712 import domain_separator, typed_data_digest
from l2.designs.statechannels import errors as e
from l2.designs.statechannels.rules import VariablePart
from l2.errors import InvalidSignature

DOMAIN_NAME = "Adjudicator"
DOMAIN_VERSION = "1"
MSG_STATE = 1
MSG_CHALLENGE = 2

STATE_TYPE = "State(bytes32 channelId,uint8 messageType,uint256[] outcome,bytes appData,uint48 turnNum,bool isFinal)"
CHALLENGE_TYPE = "Challenge(bytes32 channelId,uint8 messageType,bytes32 stateHash)"
STATE_TYPEHASH = keccak(STATE_TYPE.encode())
CHALLENGE_TYPEHASH = keccak(CHALLENGE_TYPE.encode())
_MSG_STATE_WORD = MSG_STATE.to_bytes(32, "big")
_MSG_CHALLENGE_WORD = MSG_CHALLENGE.to_bytes(32, "big")


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one adjudicator on one chain."""

    chain_id: int
    adjudicator: str

    @property
    def separator(self) -> bytes:
        sep = self.__dict__.get("_separator")
        if sep is None:
            sep = domain_separator(DOMAIN_NAME, DOMAIN_VERSION, self.chain_id, self.adjudicator)
            object.__setattr__(self, "_separator", sep)
        return sep


def outcome_hash(outcome: tuple[int, ...]) -> bytes:
    """keccak256(abi.encodePacked(uint256[])): EIP-712's hash of a uint256 array too."""
    return keccak(b"".join(a.to_bytes(32, "big") for a in outcome))


def state_hash(channel_id: bytes, state: VariablePart) -> bytes:
    """The EIP-712 struct hash of a state (`Adjudicator.stateHashOf`)."""
    return keccak(STATE_TYPEHASH + channel_id + _MSG_STATE_WORD + outcome_hash(state.outcome)
                  + keccak(state.app_data) + state.turn_num.to_bytes(32, "big")
                  + (b"\0" * 31 + (b"\1" if state.is_final else b"\0")))


def state_digest(domain: Domain, channel_id: bytes, state: VariablePart) -> bytes:
    return typed_data_digest(domain.separator, state_hash(channel_id, state))


def challenge_digest(domain: Domain, channel_id: bytes, state: VariablePart) -> bytes:
    struct = keccak(CHALLENGE_TYPEHASH + channel_id + _MSG_CHALLENGE_WORD + state_hash(channel_id, state))
    return typed_data_digest(domain.separator, struct)


def fingerprint(turn_num: int, finalizes_at: int, s_hash: bytes, outcome: tuple[int, ...]) -> int:
    """The uint160 a channel's slot keeps (`Adjudicator._fingerprint`)."""
    word = keccak(turn_num.to_bytes(32, "big") + finalizes_at.to_bytes(32, "big") + s_hash + outcome_hash(outcome))
    return int.from_bytes(word[12:], "big")


def sign_state(signer: Signer, domain: Domain, channel_id: bytes, state: VariablePart) -> bytes:
    return signer.sign(state_digest(domain, channel_id, state))


def signer_of(domain: Domain, channel_id: bytes, state: VariablePart, signature: bytes) -> str:
    """Who signed `state` (InvalidSignature if malformed)."""
    return recover(state_digest(domain, channel_id, state), signature)


def sig_tuple(signature: bytes) -> tuple[int, bytes, bytes]:
    """65 bytes r || s || v as the contract's `Signature(v, r, s)`."""
    return (signature[64], signature[:32], signature[32:64])


def signed_tuple(state: VariablePart, signatures: list[bytes]) -> tuple:
    """A `SignedVariablePart` for a contract call."""
    return (state.as_tuple(), [sig_tuple(s) for s in signatures])


# --- the wire: one decoder, strict ------------------------------------------------------------------

def encode_move(channel_id: bytes, state: VariablePart, signature: bytes) -> dict:
    return {"type": "Move", "channelId": "0x" + channel_id.hex(), "state": state.to_json(),
            "signature": "0x" + signature.hex()}


def decode_move(message) -> tuple[bytes, VariablePart, bytes]:
    """`{"type": "Move", "channelId", "state", "signature"}` -> (channel id, state, signature)."""
    if not isinstance(message, dict) or message.get("type") not in ("Move", "Conclude"):
        raise e.MalformedState("message is not a Move")
    try:
        channel_id = bytes.fromhex(str(message["channelId"]).removeprefix("0x"))
        signature = bytes.fromhex(str(message["signature"]).removeprefix("0x"))
    except (KeyError, ValueError):
        raise e.MalformedState("channelId and signature must be 0x-hex") from None
    if len(channel_id) != 32:
        raise e.MalformedState("channelId must be 32 bytes")
    if len(signature) != 65:
        raise InvalidSignature(f"signature must be 65 bytes, got {len(signature)}")
    return channel_id, VariablePart.from_json(message.get("state")), signature
