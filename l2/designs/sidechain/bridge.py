"""The bridge's hashing and signature rules, twin of `contracts/sidechain/StakeManager.sol` and
`DepositManager.sol`: pure functions the validators, the Layer-1 client and the tests share.

A **checkpoint** covers sidechain blocks start..end: `block_root` is the Merkle root (`l2.core.merkle`) of
their hashes in order, `exit_root` the root of the leaves of the burns (withdrawals) they contain, in the
order they happened (zero when there are none). A validator says yes to it by signing the EIP-712
`Checkpoint` under the domain of the StakeManager on Layer 1 (Layer 1's chain id), with the sidechain's
chain id inside the struct: one signature names both chains and one contract. Layer 1 accepts it with
signatures from more than 2/3 of the stake, sorted by signer.

Votes keep messages.py's domain, whose `verifyingContract` is the same StakeManager (`vote_domain`):
evidence a validator collected is judged on Layer 1 as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import to_canonical_address, to_checksum_address

from l2.core import merkle
from l2.core.crypto import Signer, keccak, recover
from l2.core.eip712 import StructType, domain_separator, typed_data_digest
from l2.designs.sidechain.errors import BlockRejected, CheckpointRejected
from l2.designs.sidechain.messages import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    MAX_SYNCS_PER_BLOCK,
    Domain,
    SetUpdate,
    StateSync,
)
from l2.errors import InvalidSignature

YES = 1  # the only checkpoint vote Layer 1 counts
BRIDGE_ADDRESS = "0x0000000000000000000000000000000000001001"  # SidechainBridge, placed in the genesis
# SidechainBridge's storage layout (its first five variables, in order)
SLOT_LAST_STATE_SYNC, SLOT_BURN_COUNT, SLOT_MINTED, SLOT_BURNED, SLOT_BALANCE_OF = range(5)
BURNED_TOPIC = keccak(b"Burned(uint256,address,address,uint256)")
ZERO_ROOT = bytes(32)
SIGNATURE_SIZE = 65

CHECKPOINT_TYPE = StructType("Checkpoint", (("uint256", "sidechainId"), ("uint256", "start"), ("uint256", "end"),
                                            ("bytes32", "blockRoot"), ("bytes32", "exitRoot"), ("uint8", "vote")))
BURN_TYPE = StructType("Burn", (("uint256", "id"), ("uint256", "blockNumber"), ("address", "token"),
                                ("address", "recipient"), ("uint256", "amount")))


@dataclass(frozen=True)
class Checkpoint:
    start: int
    end: int
    block_root: bytes
    exit_root: bytes

    def as_tuple(self) -> tuple:
        """The Solidity `CheckpointData` / `CheckpointHeader` struct."""
        return (self.start, self.end, self.block_root, self.exit_root)

    @property
    def header_hash(self) -> bytes:
        """What StakeManager stores for it (`checkpointHashes`)."""
        return _keccak_abi(["uint256", "uint256", "bytes32", "bytes32"], list(self.as_tuple()))


@dataclass(frozen=True)
class Burn:
    """A withdrawal burned on the sidechain: `id` counts burns from 1 (the replay guard's key)."""

    id: int
    block_number: int
    token: str  # Layer-1 asset, the zero address for ETH
    recipient: str  # on Layer 1
    amount: int

    def as_tuple(self) -> tuple:
        return (self.id, self.block_number, self.token, self.recipient, self.amount)

    @property
    def leaf(self) -> bytes:
        return BURN_TYPE.hash_struct({"id": self.id, "blockNumber": self.block_number, "token": self.token,
                                      "recipient": self.recipient, "amount": self.amount})


def _keccak_abi(types: list[str], values: list) -> bytes:
    return keccak(abi_encode(types, values))


# --- roots and proofs ------------------------------------------------------------------------------------

def block_root(block_hashes: list[bytes]) -> bytes:
    """Merkle root of the block hashes of start..end, in height order."""
    if not block_hashes:
        raise CheckpointRejected("a checkpoint covers at least one block")
    return merkle.root(list(block_hashes))


def exit_root(burns: list[Burn]) -> bytes:
    """Merkle root of the burns' leaves, in the order they happened; zero when there are none (no leaf
    hashes to zero, so nothing can be proven against it)."""
    return merkle.root([b.leaf for b in burns]) if burns else ZERO_ROOT


def exit_proof(burns: list[Burn], index: int) -> list[bytes]:
    """The Merkle path of `burns[index]` under `exit_root(burns)`."""
    if not 0 <= index < len(burns):
        raise CheckpointRejected(f"burn index {index} is not among the checkpoint's {len(burns)} burns")
    return merkle.path([b.leaf for b in burns], index)


def make_checkpoint(start: int, block_hashes: list[bytes], burns: list[Burn]) -> Checkpoint:
    """The checkpoint of blocks start..start+len-1 with their burns (each must lie in that range)."""
    end = start + len(block_hashes) - 1
    for burn in burns:
        if not start <= burn.block_number <= end:
            raise CheckpointRejected(f"burn {burn.id} of block {burn.block_number} is outside {start}..{end}")
    return Checkpoint(start, end, block_root(block_hashes), exit_root(burns))


# --- digests and signatures ----------------------------------------------------------------------------

def checkpoint_domain(l1_chain_id: int, stake_manager: str) -> bytes:
    return domain_separator(DOMAIN_NAME, DOMAIN_VERSION, l1_chain_id, stake_manager)


def checkpoint_digest(l1_chain_id: int, stake_manager: str, sidechain_id: int, checkpoint: Checkpoint) -> bytes:
    """What a validator signs to say yes to `checkpoint` (StakeManager.checkpointDigest)."""
    return typed_data_digest(checkpoint_domain(l1_chain_id, stake_manager), CHECKPOINT_TYPE.hash_struct(
        {"sidechainId": sidechain_id, "start": checkpoint.start, "end": checkpoint.end,
         "blockRoot": checkpoint.block_root, "exitRoot": checkpoint.exit_root, "vote": YES}))


def vote_domain(sidechain_id: int, stake_manager: str) -> Domain:
    """The consensus votes' domain once Layer 1 judges evidence: the StakeManager is the verifying contract."""
    return Domain(sidechain_id, stake_manager)


def sign_checkpoint(signer: Signer, l1_chain_id: int, stake_manager: str, sidechain_id: int,
                    checkpoint: Checkpoint) -> bytes:
    return signer.sign(checkpoint_digest(l1_chain_id, stake_manager, sidechain_id, checkpoint))


def pack_signatures(signatures: Mapping[str, bytes]) -> bytes:
    """Signatures by signer address, concatenated in increasing address order (as submitCheckpoint wants)."""
    ordered = sorted(signatures.items(), key=lambda item: to_canonical_address(item[0]))
    for address, signature in ordered:
        if len(signature) != SIGNATURE_SIZE:
            raise CheckpointRejected(f"signature of {address} is {len(signature)} bytes, not {SIGNATURE_SIZE}")
    return b"".join(signature for _, signature in ordered)


def signed_stake(digest: bytes, packed: bytes, powers: Mapping[str, int]) -> int:
    """The stake behind `packed` signatures on `digest`, refusing what StakeManager refuses: a malformed
    signature, a signer without power in `powers` (unknown, removed or not active yet), a signer twice,
    signers out of order."""
    if len(packed) % SIGNATURE_SIZE:
        raise CheckpointRejected(f"signatures are {len(packed)} bytes, not a multiple of {SIGNATURE_SIZE}")
    total, previous = 0, b""
    for at in range(0, len(packed), SIGNATURE_SIZE):
        try:
            signer = recover(digest, packed[at:at + SIGNATURE_SIZE])
        except InvalidSignature as exc:
            raise CheckpointRejected(f"signature {at // SIGNATURE_SIZE}: {exc}") from None
        raw = to_canonical_address(signer)
        if raw == previous:
            raise CheckpointRejected(f"{signer} signed twice")
        if raw < previous:
            raise CheckpointRejected(f"signatures are not sorted by signer ({signer} comes after a higher one)")
        previous = raw
        power = powers.get(signer, 0)
        if power <= 0:
            raise CheckpointRejected(f"{signer} is not a validator of this epoch")
        total += power
    return total


def is_quorum(power: int, total: int) -> bool:
    """More than 2/3 of the stake, as consensus.ValidatorSet and StakeManager count it."""
    return 3 * power > 2 * total


def check_quorum(digest: bytes, packed: bytes, powers: Mapping[str, int]) -> int:
    """`signed_stake`, and CheckpointRejected unless it is more than 2/3 of the total in `powers`."""
    power = signed_stake(digest, packed, powers)
    total = sum(powers.values())
    if not is_quorum(power, total):
        raise CheckpointRejected(f"signatures hold {power} of {total} stake: more than 2/3 is needed")
    return power


def burns_in(burns: Iterable[Burn], start: int, end: int) -> list[Burn]:
    """The burns of blocks start..end, in the order they happened (by id)."""
    return sorted((b for b in burns if start <= b.block_number <= end), key=lambda b: b.id)


# --- the sidechain's side: state syncs in, burns out ---------------------------------------------------

def mapping_slot(key: bytes, slot: int) -> int:
    """Solidity's storage slot of `mapping[key]` for a mapping declared at `slot`."""
    return int.from_bytes(keccak(key.rjust(32, b"\0") + slot.to_bytes(32, "big")), "big")


def token_balance_slot(token: str, account: str) -> int:
    inner = mapping_slot(to_canonical_address(token), SLOT_BALANCE_OF)
    return mapping_slot(to_canonical_address(account), inner)


def syncs_commitment(syncs: Iterable[StateSync], set_update: SetUpdate | None = None) -> bytes:
    """What a block's header (`extraData`) carries for its state syncs and its validator-set update, so
    its hash names them; empty when there are none."""
    items = list(syncs)
    if not items and set_update is None:
        return b""
    epoch, validators = (set_update.epoch, list(set_update.validators)) if set_update is not None else (0, [])
    return _keccak_abi(["(uint256,address,address,uint256)[]", "uint256", "(address,uint256)[]"],
                       [[(s.id, s.token, s.recipient, s.amount) for s in items], epoch, validators])


# --- the validator set, by Layer-1 epoch -----------------------------------------------------------------

def validator_set_at(changes: Iterable[tuple[int, str, int, int]], epoch: int) -> tuple[tuple[str, int], ...]:
    """StakeManager's set for `epoch` from its `ValidatorSetChanged` events (changeId, signer, power,
    effectiveEpoch): each signer's latest change effective by then; power 0 is out. Sorted by address."""
    latest: dict[str, tuple[int, int]] = {}
    for change_id, signer, power, effective in changes:
        if effective <= epoch and change_id > latest.get(signer, (0, 0))[0]:
            latest[signer] = (change_id, power)
    return tuple(sorted(((s, p) for s, (_, p) in latest.items() if p > 0), key=lambda v: v[0].lower()))


def next_set_update(current_epoch: int, view: SetUpdate | None) -> SetUpdate | None:
    """The proposer's choice: Layer 1's set when its finalized epoch is past the sidechain's (never an
    empty set: a chain without validators could not go on to learn a later one)."""
    if view is None or view.epoch <= current_epoch or not view.validators:
        return None
    return view


def check_set_update(current_epoch: int, proposed: SetUpdate | None, view: SetUpdate | None) -> None:
    """A proposed block's set update against this validator's own finalized Layer-1 read: only a later
    epoch than the sidechain's, exactly as Layer 1 has it. BlockRejected otherwise."""
    if proposed is None:
        return
    if view is None:
        raise BlockRejected("the block changes the validator set and this validator reads no Layer 1")
    if proposed.epoch <= current_epoch:
        raise BlockRejected(f"set update for epoch {proposed.epoch}: the sidechain is already at {current_epoch}")
    if proposed != view:
        raise BlockRejected(f"set update for epoch {proposed.epoch} differs from Layer 1's finalized epoch "
                            f"{view.epoch} set")
    if not proposed.validators:
        raise BlockRejected("a set update must name at least one validator")


def check_state_syncs(last_applied: int, proposed: Iterable[StateSync], final: Mapping[int, StateSync]) -> None:
    """A proposed block's state syncs against what this validator read from Layer 1 up to its finalized
    block (`final`, by id): the next ids after `last_applied`, in order, none skipped or repeated, each as
    Layer 1 says it is. BlockRejected otherwise (a validator whose Layer-1 view lags refuses too, and the
    block is decided in a later round once it has caught up)."""
    items = list(proposed)
    if len(items) > MAX_SYNCS_PER_BLOCK:
        raise BlockRejected(f"a block carries at most {MAX_SYNCS_PER_BLOCK} state syncs, not {len(items)}")
    expected = last_applied + 1
    for sync in items:
        if sync.id <= last_applied:
            raise BlockRejected(f"state sync {sync.id} was already applied (the last was {last_applied})")
        if sync.id != expected:
            raise BlockRejected(f"state sync {sync.id} skips or repeats: {expected} comes next")
        known = final.get(sync.id)
        if known is None:
            raise BlockRejected(f"state sync {sync.id} is not on Layer 1 up to its finalized block")
        if known != sync:
            raise BlockRejected(f"state sync {sync.id} differs from Layer 1's: {sync} is not {known}")
        expected += 1


def next_state_syncs(last_applied: int, final: Mapping[int, StateSync],
                     limit: int = MAX_SYNCS_PER_BLOCK) -> list[StateSync]:
    """The proposer's choice: the finalized syncs after `last_applied`, in order, up to `limit`."""
    out: list[StateSync] = []
    while len(out) < limit and (last_applied + len(out) + 1) in final:
        out.append(final[last_applied + len(out) + 1])
    return out


def burns_of_logs(block_number: int, logs: Iterable[tuple[bytes, list[int], bytes]]) -> list[Burn]:
    """The burns among a block's logs (address, topics, data), as `SidechainBridge.Burned` emits them."""
    bridge = to_canonical_address(BRIDGE_ADDRESS)
    out = []
    for address, topics, data in logs:
        if address != bridge or not topics or topics[0].to_bytes(32, "big") != BURNED_TOPIC:
            continue
        token = to_checksum_address(topics[2].to_bytes(32, "big")[12:])
        recipient = to_checksum_address(topics[3].to_bytes(32, "big")[12:])
        out.append(Burn(topics[1], block_number, token, recipient, int.from_bytes(data[:32], "big")))
    return out
