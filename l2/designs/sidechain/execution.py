"""Executing sidechain blocks on py-evm, deterministically, over the validator's own database.

Every validator starts from the same genesis and executes the same blocks (the same transactions, timestamp
and coinbase on the same parent), and nothing else enters a block header: the gas limit stays the genesis
one, `prevRandao` is the parent's hash. So honest validators compute the same EVM block hash, which is what
they vote on: a proposal is valid exactly when re-executing it gives the hash its proposer claims.

A block is built on a scratch layer (`BatchDB`) over the committed state: a proposal that is never decided
leaves nothing behind, and a decided one is committed by writing that layer, the block row and its commit
into SQLite in one transaction (`Executor.commit`), so a validator killed at any instant restarts with a
state that matches its last stored block exactly.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.backends.memory import MemoryDB
from eth.db.batch import BatchDB
from eth.exceptions import CanonicalHeadNotFound
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, BlockNumber
from eth_utils import ValidationError, to_canonical_address, to_checksum_address

from l2.core.crypto import keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Burn
from l2.designs.sidechain.errors import BlockRejected, TransactionRejected
from l2.designs.sidechain.messages import ZERO_ADDRESS, Block, SetUpdate, StateSync

GAS_LIMIT = 30_000_000
POST_MERGE_GENESIS = {"difficulty": 0, "mix_hash": bytes(32), "nonce": bytes(8), "extra_data": b"l2 sidechain"}


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    timestamp: int
    alloc: tuple[tuple[str, int], ...]  # (address, wei) funded at height 0
    gas_limit: int = GAS_LIMIT
    code: tuple[tuple[str, bytes], ...] = ()  # (address, runtime code) placed at height 0: the bridge

    def to_json(self) -> dict:
        return {"chainId": self.chain_id, "timestamp": self.timestamp, "gasLimit": self.gas_limit,
                "alloc": {a: str(w) for a, w in self.alloc}, "code": {a: "0x" + c.hex() for a, c in self.code}}

    @classmethod
    def from_json(cls, data: dict) -> Genesis:
        return cls(int(data["chainId"]), int(data["timestamp"]),
                   tuple((to_checksum_address(a), int(w)) for a, w in data["alloc"].items()),
                   int(data.get("gasLimit", GAS_LIMIT)),
                   tuple((to_checksum_address(a), bytes.fromhex(c.removeprefix("0x")))
                         for a, c in data.get("code", {}).items()))


class SqliteKV(BaseDB):
    """py-evm's key-value database as one SQLite table. Writes go to the connection in whatever transaction
    the caller has open (`Store.transaction`), which is what makes a block's state and its row one commit."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")

    def __getitem__(self, key: bytes) -> bytes:
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        if self.db.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self.db.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None


def chain_class(chain_id: int) -> type[Chain]:
    class SidechainEVM(Chain):
        vm_configuration = ((BlockNumber(0), PragueVM),)

        def create_header_from_parent(self, parent_header, **header_params):
            # The gas limit never moves: a proposer choosing it would be one more thing to agree on.
            return super().create_header_from_parent(parent_header, **{**header_params,
                                                                        "gas_limit": parent_header.gas_limit})

    SidechainEVM.chain_id = chain_id
    return SidechainEVM


@dataclass
class Executed:
    """A block executed on a scratch layer, not yet committed."""

    block: Block
    evm_block: BlockAPI
    layer: BatchDB
    chain: Chain


class Executor:
    """The validator's EVM: committed state in `kv`, blocks built and checked on scratch layers."""

    def __init__(self, kv: Any, genesis: Genesis,
                 transaction: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext):
        self.kv = kv
        self.genesis = genesis
        self.transaction = transaction
        self.chain_class = chain_class(genesis.chain_id)
        self.chain = self.chain_class(AtomicDB(kv))
        try:
            self.chain.get_canonical_head()
        except CanonicalHeadNotFound:
            self._write_genesis()

    @classmethod
    def in_memory(cls, genesis: Genesis) -> Executor:
        return cls(MemoryDB(), genesis)

    def _write_genesis(self) -> None:
        layer = BatchDB(self.kv)
        params: dict[str, Any] = {**POST_MERGE_GENESIS, "gas_limit": self.genesis.gas_limit,
                                  "timestamp": self.genesis.timestamp}
        state: dict[Address, Any] = {to_canonical_address(a): {"balance": w, "nonce": 0, "code": b"", "storage": {}}
                 for a, w in self.genesis.alloc}
        for address, code in self.genesis.code:
            entry = state.setdefault(to_canonical_address(address), {"balance": 0, "nonce": 0, "storage": {}})
            entry["code"] = code
        self.chain_class.from_genesis(AtomicDB(layer), params, state)
        with self.transaction():
            layer.commit()
        self.chain = self.chain_class(AtomicDB(self.kv))

    # --- reading -------------------------------------------------------------------------------------

    def head(self) -> BlockHeaderAPI:
        return self.chain.get_canonical_head()

    @property
    def height(self) -> int:
        return self.head().block_number

    def header(self, number: int) -> BlockHeaderAPI:
        return self.chain.get_canonical_block_header_by_number(BlockNumber(number))

    def evm_block(self, number: int) -> BlockAPI:
        return self.chain.get_canonical_block_by_number(BlockNumber(number))

    def state_at(self, header: BlockHeaderAPI):
        return self.chain.get_vm(header).state

    def decode_tx(self, raw: bytes) -> SignedTransactionAPI:
        if not raw or raw[0] == 3:
            raise TransactionRejected("blob transactions (type 3) are not accepted on the sidechain")
        try:
            tx = self.chain.get_vm().get_transaction_builder().decode(raw)
            tx.validate()
            sender = tx.sender
        except (ValidationError, rlp.DecodingError, ValueError, TypeError, IndexError) as exc:
            raise TransactionRejected(f"cannot decode the transaction: {exc}") from None
        chain_id = getattr(tx, "chain_id", None)
        if chain_id != self.genesis.chain_id:
            raise TransactionRejected(f"transaction is for chain id {chain_id}, this sidechain is "
                                      f"{self.genesis.chain_id} (sign with EIP-155 or a typed transaction)")
        del sender  # recovered above: an unrecoverable signature is refused here, not in a block
        return tx

    def check_admissible(self, tx: SignedTransactionAPI, pending_nonce: int) -> None:
        """The mempool's door: a nonce not below the account's, room for the fee and the value."""
        state = self.state_at(self.head())
        nonce = state.get_nonce(tx.sender)
        if tx.nonce < nonce:
            raise TransactionRejected(f"nonce too low: {tx.nonce}, the account is at {nonce}")
        if tx.nonce > pending_nonce:
            raise TransactionRejected(f"nonce {tx.nonce} leaves a gap: the account's next one is {pending_nonce}")
        if tx.gas > self.genesis.gas_limit:
            raise TransactionRejected(f"gas {tx.gas} is above the block gas limit {self.genesis.gas_limit}")
        max_fee = getattr(tx, "max_fee_per_gas", None) or tx.gas_price
        cost = tx.gas * max_fee + tx.value
        balance = state.get_balance(tx.sender)
        if balance < cost:
            raise TransactionRejected(f"insufficient funds for gas * price + value: balance {balance}, cost {cost}")

    # --- building and checking blocks ----------------------------------------------------------------

    def _scratch(self) -> tuple[BatchDB, Chain]:
        layer = BatchDB(self.kv)
        return layer, self.chain_class(AtomicDB(layer))

    def _header_for(self, chain: Chain, parent: BlockHeaderAPI, timestamp: int, proposer: str,
                    syncs: tuple[StateSync, ...] = (), set_update: SetUpdate | None = None) -> BlockHeaderAPI:
        return chain.create_header_from_parent(parent, timestamp=timestamp, coinbase=to_canonical_address(proposer),
                                               mix_hash=keccak(parent.hash),
                                               extra_data=bridge.syncs_commitment(syncs, set_update))

    def last_state_sync(self, header: BlockHeaderAPI | None = None) -> int:
        """Id of the last Layer-1 state sync applied up to `header` (default: the head)."""
        state = self.state_at(header or self.head())
        return state.get_storage(to_canonical_address(bridge.BRIDGE_ADDRESS), bridge.SLOT_LAST_STATE_SYNC)

    def burns(self, evm_block: BlockAPI, chain: Chain | None = None) -> list[Burn]:
        """The withdrawals a block burned on the bridge, in order (`chain`: the scratch one it was built on)."""
        receipts = evm_block.get_receipts((chain or self.chain).chaindb)
        return bridge.burns_of_logs(evm_block.number, ((log.address, list(log.topics), log.data)
                                                       for r in receipts for log in r.logs))

    @staticmethod
    def _apply_state_syncs(state, syncs: tuple[StateSync, ...], height: int) -> None:
        """The system writes of a block's state syncs, before its transactions: ETH minted to the recipient's
        balance, a token credited in the bridge's ledger, the bridge's counters moved. Ids must follow the
        last applied one here too, so no block (proposed or synced from a peer) applies a deposit twice."""
        address = to_canonical_address(bridge.BRIDGE_ADDRESS)
        last = state.get_storage(address, bridge.SLOT_LAST_STATE_SYNC)
        for sync in syncs:
            if sync.id != last + 1:
                raise BlockRejected(f"block {height} applies state sync {sync.id} after {last}")
            if sync.token == ZERO_ADDRESS:
                state.delta_balance(to_canonical_address(sync.recipient), sync.amount)
            else:
                slot = bridge.token_balance_slot(sync.token, sync.recipient)
                state.set_storage(address, slot, state.get_storage(address, slot) + sync.amount)
            minted = bridge.mapping_slot(to_canonical_address(sync.token), bridge.SLOT_MINTED)
            state.set_storage(address, minted, state.get_storage(address, minted) + sync.amount)
            last = sync.id
        state.set_storage(address, bridge.SLOT_LAST_STATE_SYNC, last)

    def select(self, raw_txs: list[bytes], timestamp: int, proposer: str) -> list[bytes]:
        """The proposer's choice: `raw_txs` in order, minus those that cannot be included on top of the head
        (nonce taken, unaffordable, past the block's gas), which a validator would refuse the block for."""
        parent = self.head()
        _, chain = self._scratch()
        header = self._header_for(chain, parent, timestamp, proposer)
        vm = chain.get_vm(header)
        chosen, current = [], header
        for raw in raw_txs:
            try:
                tx = vm.get_transaction_builder().decode(raw)
            except Exception:  # noqa: BLE001 - a mempool entry that no longer decodes is simply left out
                continue
            try:
                # py-evm validates (nonce, balance, gas left in the block) before touching the state, and
                # locks the changes in once the transaction has run: a refused one leaves nothing behind.
                receipt, _ = vm.apply_transaction(current, tx)
            except ValidationError:
                continue
            current = vm.add_receipt_to_header(current, receipt)
            chosen.append(raw)
        return chosen

    def build(self, raw_txs: list[bytes], timestamp: int, proposer: str,
              syncs: tuple[StateSync, ...] = (), set_update: SetUpdate | None = None) -> Executed:
        """A new block on the head from `raw_txs` (already `select`ed) after `syncs`, executed."""
        parent = self.head()
        block = Block(parent.block_number + 1, parent.hash, timestamp, to_checksum_address(proposer), tuple(raw_txs),
                      b"", tuple(syncs), set_update)
        return self._execute(block)

    def execute(self, block: Block) -> Executed:
        """Re-execute someone's block on our head; BlockRejected unless it gives the hash it claims."""
        parent = self.head()
        if block.height != parent.block_number + 1 or block.parent_hash != parent.hash:
            raise BlockRejected(f"block {block.height} is not on our head {parent.block_number} "
                                f"0x{parent.hash.hex()[:8]}")
        executed = self._execute(block)
        if executed.evm_block.hash != block.hash:
            raise BlockRejected(f"block {block.height} executes to 0x{executed.evm_block.hash.hex()}, "
                                f"not the claimed 0x{block.hash.hex()}")
        return executed

    def _execute(self, block: Block) -> Executed:
        parent = self.head()
        if block.timestamp <= parent.timestamp:
            raise BlockRejected(f"block timestamp {block.timestamp} is not after its parent's {parent.timestamp}")
        layer, chain = self._scratch()
        header = self._header_for(chain, parent, block.timestamp, block.proposer, block.syncs, block.set_update)
        vm = chain.get_vm(header)
        try:
            if block.syncs:
                self._apply_state_syncs(vm.state, block.syncs, block.height)
                vm.state.lock_changes()
                header = header.copy(state_root=vm.state.make_state_root())
            txs = [vm.get_transaction_builder().decode(raw) for raw in block.txs]
            if any(getattr(tx, "chain_id", None) != self.genesis.chain_id for tx in txs):
                raise BlockRejected(f"block {block.height} holds a transaction for another chain")
            new_header, receipts, _ = vm.apply_all_transactions(txs, header)
            filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), new_header, txs, receipts)
            evm_block = vm.mine_block(filled).block
            chain.persist_block(evm_block)
        except (ValidationError, rlp.DecodingError, ValueError) as exc:
            raise BlockRejected(f"block {block.height} does not execute: {exc}") from None
        return Executed(Block(block.height, block.parent_hash, block.timestamp, block.proposer, block.txs,
                              evm_block.hash, block.syncs, block.set_update), evm_block, layer, chain)

    @contextlib.contextmanager
    def committing(self, executed: Executed) -> Iterator[Any]:
        """Write an executed block's state in the caller's transaction (yielded, for its own rows too)."""
        if executed.evm_block.header.parent_hash != self.head().hash:
            raise BlockRejected(f"block {executed.block.height} no longer builds on our head")
        with self.transaction() as db:
            executed.layer.commit()
            yield db

    # --- calls ---------------------------------------------------------------------------------------

    def unsigned(self, *, sender: str, to: str | None, value: int, data: bytes, gas: int | None,
                 header: BlockHeaderAPI) -> SpoofTransaction:
        """A transaction for eth_call / eth_estimateGas, from `sender` without its signature, at no gas price."""
        vm = self.chain.get_vm(header)
        nonce = vm.state.get_nonce(to_canonical_address(sender))
        tx = vm.create_unsigned_transaction(nonce=nonce, gas_price=0, gas=gas or self.genesis.gas_limit,
                                            to=to_canonical_address(to) if to else Address(b""), value=value, data=data)
        return SpoofTransaction(tx, from_=to_canonical_address(sender))

    def call(self, tx: SpoofTransaction, header: BlockHeaderAPI):
        """Run it on the state after `header`, in the next block's context, and throw the changes away; the
        computation (its output, or its error and revert data)."""
        with self.chain.get_vm(header).in_costless_state() as state:
            # py-evm types these as signed transactions, but runs calls on its own unsigned SpoofTransaction
            return state.costless_execute_transaction(cast(SignedTransactionAPI, tx))

    def estimate_gas(self, tx: SpoofTransaction, header: BlockHeaderAPI) -> int:
        return self.chain.estimate_gas(cast(SignedTransactionAPI, tx), header)
