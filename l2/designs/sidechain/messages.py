"""The signed messages of the sidechain's consensus: proposals and votes, as EIP-712 typed data.

Every signature is bound to one sidechain (the domain's `chainId` is the sidechain's chain id, its
`verifyingContract` the Layer-1 contract that will judge evidence), one height, one round and one vote
type (`Prevote` 1, `Precommit` 2; a proposal is a type of its own), so a signature is never valid for
two purposes: a prevote cannot be replayed as a precommit, nor a vote on one chain on another. Layer 1
will check the same digests when it slashes an equivocator, hence EIP-712 and not an ad-hoc encoding.

A `Block` is what a proposal carries: the ordered transactions, the timestamp and the proposer (the EVM
block's coinbase) on top of `parent_hash`. Its identity is `hash`, the EVM block hash that executing it
gives, which commits to the state root, the transactions and the receipts: votes name that hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address

from l2.core.crypto import Signer, recover
from l2.core.eip712 import StructType, domain_separator, typed_data_digest
from l2.designs.sidechain.errors import VoteRejected
from l2.errors import InvalidSignature

PREVOTE = 1
PRECOMMIT = 2
VOTE_NAMES = {PREVOTE: "prevote", PRECOMMIT: "precommit"}
NIL = bytes(32)  # a vote for no block
ZERO_ADDRESS = "0x" + "00" * 20
DOMAIN_NAME = "l2 sidechain"
DOMAIN_VERSION = "1"

VOTE_TYPE = StructType("Vote", (("uint256", "height"), ("uint256", "round"), ("uint8", "voteType"),
                                ("bytes32", "blockHash")))
PROPOSAL_TYPE = StructType("Proposal", (("uint256", "height"), ("uint256", "round"), ("int256", "validRound"),
                                        ("bytes32", "blockHash")))


@dataclass(frozen=True)
class Domain:
    chain_id: int  # the sidechain's
    verifying_contract: str = ZERO_ADDRESS  # the Layer-1 contract that judges evidence (none yet: zero)

    @property
    def separator(self) -> bytes:
        return domain_separator(DOMAIN_NAME, DOMAIN_VERSION, self.chain_id, self.verifying_contract)


@dataclass(frozen=True)
class Vote:
    height: int
    round: int
    vote_type: int  # PREVOTE or PRECOMMIT
    block_hash: bytes  # NIL for "no block"
    signer: str  # recovered, never taken from the wire
    signature: bytes

    def digest(self, domain: Domain) -> bytes:
        return vote_digest(domain, self.height, self.round, self.vote_type, self.block_hash)

    def to_json(self) -> dict:
        return {"height": self.height, "round": self.round, "voteType": self.vote_type,
                "block": "0x" + self.block_hash.hex(), "sig": "0x" + self.signature.hex()}

    def __str__(self) -> str:
        target = "nil" if self.block_hash == NIL else "0x" + self.block_hash.hex()[:8]
        return f"{VOTE_NAMES.get(self.vote_type, '?')} {self.height}/{self.round} {target} by {self.signer[:8]}"


@dataclass(frozen=True)
class StateSync:
    """A deposit on Layer 1 (`DepositManager.StateSynced`) as a sidechain block carries it, to be applied
    before the block's transactions (bridge.py has the rules)."""

    id: int
    token: str  # Layer-1 asset, the zero address for ETH
    recipient: str
    amount: int

    def to_json(self) -> dict:
        return {"id": self.id, "token": self.token, "recipient": self.recipient, "amount": str(self.amount)}


@dataclass(frozen=True)
class SetUpdate:
    """The validator set of Layer-1 epoch `epoch` (StakeManager's, `confirmations` deep), as a block carries
    it: it governs the heights after that block. Sorted by address, every power positive."""

    epoch: int
    validators: tuple[tuple[str, int], ...]

    def to_json(self) -> dict:
        return {"epoch": self.epoch, "validators": [[a, str(p)] for a, p in self.validators]}


@dataclass(frozen=True)
class Block:
    height: int
    parent_hash: bytes
    timestamp: int
    proposer: str
    txs: tuple[bytes, ...]  # raw signed Ethereum transactions, in execution order
    hash: bytes  # the EVM block hash executing them gives (what votes name)
    syncs: tuple[StateSync, ...] = ()  # Layer-1 deposits applied before the transactions (its header names them)
    set_update: SetUpdate | None = None  # a new Layer-1 epoch's validator set, from the next height on

    def to_json(self) -> dict:
        return {"height": self.height, "parent": "0x" + self.parent_hash.hex(), "timestamp": self.timestamp,
                "proposer": self.proposer, "txs": ["0x" + t.hex() for t in self.txs], "hash": "0x" + self.hash.hex(),
                "syncs": [s.to_json() for s in self.syncs],
                "setUpdate": self.set_update.to_json() if self.set_update is not None else None}


@dataclass(frozen=True)
class Proposal:
    height: int
    round: int
    valid_round: int  # -1, or the round whose prevote quorum this block had (Tendermint's re-proposal)
    block: Block
    signer: str
    signature: bytes

    def digest(self, domain: Domain) -> bytes:
        return proposal_digest(domain, self.height, self.round, self.valid_round, self.block.hash)

    def to_json(self) -> dict:
        return {"height": self.height, "round": self.round, "validRound": self.valid_round,
                "block": self.block.to_json(), "sig": "0x" + self.signature.hex()}


def vote_digest(domain: Domain, height: int, round_: int, vote_type: int, block_hash: bytes) -> bytes:
    return typed_data_digest(domain.separator, VOTE_TYPE.hash_struct(
        {"height": height, "round": round_, "voteType": vote_type, "blockHash": block_hash}))


def proposal_digest(domain: Domain, height: int, round_: int, valid_round: int, block_hash: bytes) -> bytes:
    return typed_data_digest(domain.separator, PROPOSAL_TYPE.hash_struct(
        {"height": height, "round": round_, "validRound": valid_round, "blockHash": block_hash}))


def sign_vote(signer: Signer, domain: Domain, height: int, round_: int, vote_type: int, block_hash: bytes) -> Vote:
    signature = signer.sign(vote_digest(domain, height, round_, vote_type, block_hash))
    return Vote(height, round_, vote_type, block_hash, signer.address, signature)


def sign_proposal(signer: Signer, domain: Domain, round_: int, valid_round: int, block: Block) -> Proposal:
    signature = signer.sign(proposal_digest(domain, block.height, round_, valid_round, block.hash))
    return Proposal(block.height, round_, valid_round, block, signer.address, signature)


# --- from the wire: every field checked, the signer recovered ------------------------------------------

def _int(message: dict, key: str, low: int = 0) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or value >= 2**63:
        raise VoteRejected(f"field {key!r} must be an integer >= {low}, got {value!r}")
    return value


def _bytes(message: dict, key: str, size: int | None = None) -> bytes:
    value = message.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise VoteRejected(f"field {key!r} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise VoteRejected(f"field {key!r} is not hex") from None
    if size is not None and len(raw) != size:
        raise VoteRejected(f"field {key!r} must be {size} bytes, got {len(raw)}")
    return raw


def decode_vote(message: dict, domain: Domain) -> Vote:
    """A vote from its JSON form, its signer recovered under `domain`; VoteRejected if malformed."""
    vote_type = _int(message, "voteType", 1)
    if vote_type not in VOTE_NAMES:
        raise VoteRejected(f"vote type must be 1 (prevote) or 2 (precommit), got {vote_type}")
    height, round_ = _int(message, "height", 1), _int(message, "round")
    block_hash, signature = _bytes(message, "block", 32), _bytes(message, "sig", 65)
    try:
        signer = recover(vote_digest(domain, height, round_, vote_type, block_hash), signature)
    except InvalidSignature as exc:
        raise VoteRejected(f"vote signature: {exc}") from None
    return Vote(height, round_, vote_type, block_hash, signer, signature)


MAX_TXS_PER_BLOCK = 2_000
MAX_SYNCS_PER_BLOCK = 64


def decode_block(message: dict) -> Block:
    if not isinstance(message, dict):
        raise VoteRejected("block must be an object")
    txs = message.get("txs")
    if not isinstance(txs, list) or len(txs) > MAX_TXS_PER_BLOCK:
        raise VoteRejected(f"block txs must be a list of at most {MAX_TXS_PER_BLOCK}")
    proposer = message.get("proposer")
    if not isinstance(proposer, str) or len(proposer) != 42:
        raise VoteRejected("block proposer must be an address")
    try:
        proposer = to_checksum_address(proposer)
    except ValueError:
        raise VoteRejected("block proposer must be an address") from None
    raw_syncs = message.get("syncs", [])
    if not isinstance(raw_syncs, list) or len(raw_syncs) > MAX_SYNCS_PER_BLOCK:
        raise VoteRejected(f"block syncs must be a list of at most {MAX_SYNCS_PER_BLOCK}")
    return Block(_int(message, "height", 1), _bytes(message, "parent", 32), _int(message, "timestamp"), proposer,
                 tuple(_bytes({"t": t}, "t") for t in txs), _bytes(message, "hash", 32),
                 tuple(decode_state_sync(s) for s in raw_syncs), decode_set_update(message.get("setUpdate")))


MAX_VALIDATORS = 256  # StakeManager's cap can be no higher


def decode_set_update(message: object) -> SetUpdate | None:
    if message is None:
        return None
    if not isinstance(message, dict):
        raise VoteRejected("a set update must be an object")
    rows = message.get("validators")
    if not isinstance(rows, list) or not 0 < len(rows) <= MAX_VALIDATORS:
        raise VoteRejected(f"a set update names 1 to {MAX_VALIDATORS} validators")
    validators = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[1], str) and row[1].isdigit()):
            raise VoteRejected("a set update's validator must be [address, decimal power]")
        validators.append((_address({"a": row[0]}, "a"), int(row[1])))
    return SetUpdate(_int(message, "epoch", 1), tuple(validators))


def _address(message: dict, key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str) or len(value) != 42:
        raise VoteRejected(f"field {key!r} must be an address")
    try:
        return to_checksum_address(value)
    except ValueError:
        raise VoteRejected(f"field {key!r} must be an address") from None


def decode_state_sync(message: object) -> StateSync:
    if not isinstance(message, dict):
        raise VoteRejected("a state sync must be an object")
    amount = message.get("amount")
    if not isinstance(amount, str) or not amount.isdigit() or int(amount) >= 2**256:
        raise VoteRejected(f"state sync amount must be a decimal string below 2**256, got {amount!r}")
    return StateSync(_int(message, "id", 1), _address(message, "token"), _address(message, "recipient"), int(amount))


def decode_proposal(message: dict, domain: Domain) -> Proposal:
    """A proposal from its JSON form, its signer recovered; VoteRejected if malformed."""
    block = decode_block(message.get("block"))  # type: ignore[arg-type]
    height, round_ = _int(message, "height", 1), _int(message, "round")
    valid_round = message.get("validRound")
    if not isinstance(valid_round, int) or isinstance(valid_round, bool) or not -1 <= valid_round < round_:
        raise VoteRejected(f"validRound must be -1 or a round before {round_}, got {valid_round!r}")
    if block.height != height:
        raise VoteRejected(f"proposal for height {height} carries a block of height {block.height}")
    signature = _bytes(message, "sig", 65)
    try:
        signer = recover(proposal_digest(domain, height, round_, valid_round, block.hash), signature)
    except InvalidSignature as exc:
        raise VoteRejected(f"proposal signature: {exc}") from None
    return Proposal(height, round_, valid_round, block, signer, signature)
