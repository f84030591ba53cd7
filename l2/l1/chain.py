"""Layer 1: one entry point for the embedded py-evm chain or any JSON-RPC node.

`connect()` returns a `Chain`: a ready web3, funded accounts that sign locally,
and the helpers a protocol developer needs on either kind of chain: deploy,
transact (with reverts decoded to the contract's custom error), snapshot and
revert, advance time, mine. There are really two implementations here, so
there is one small base class and two subclasses:

- `EmbeddedChain`: eth-tester over py-evm, in process (the default). Ten
  accounts with a million ETH each; snapshots, time travel and mining go
  straight to eth-tester.
- `RpcChain`: any JSON-RPC URL (anvil, geth, a testnet) with a private key from
  an environment variable. On a dev node (anvil, hardhat) the well-known dev
  accounts are used when no key is given; snapshot/time/mining use the
  `evm_*` / `anvil_*` methods.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.datastructures import AttributeDict
from web3.exceptions import Web3Exception
from web3.logs import DISCARD
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint, TxParams

from l2.errors import ChainConnectionError, ConfigError, InsufficientFundsError, TransactionReverted
from l2.l1.compiler import Artifacts, compile_project
from l2.l1.evm import DEFAULT_EVM_VERSION, EVM_VERSIONS, EvmRequirement, check_requirements, node_evm_version
from l2.l1.reverts import RevertDataMiddleware, decode_reason, decode_revert, error_table, revert_payload

DEFAULT_PRIVATE_KEY_ENV = "L2_PRIVATE_KEY"
# anvil's and hardhat's default accounts come from this public test mnemonic.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_IDS = {31337, 1337}
PRIORITY_FEE_WEI = 10**9
# How long a node may take to answer the first request. A port that accepts connections but never answers
# (a stuck node, the wrong service) then fails in seconds: web3's default retries each request five times
# after a timeout, ~53 s with our 10 s read timeout.
CONNECT_TIMEOUT = 5.0
GAS_MARGIN = 1.2  # estimates can fall short where refunds or warm/cold access differ at inclusion


@dataclass(frozen=True)
class TxRecord:
    """One mined Layer-1 transaction, as the gas report and the demo's summary count it."""

    contract: str  # project contract name ("TestToken"), the address if unknown, "" for a plain ETH transfer
    function: str  # "constructor", the function's name, or "transfer" for plain ETH
    gas_used: int
    fee_wei: int  # gas_used * effective gas price: what the sender paid (base fee burned + tip)
    sender: str
    status: int  # 1 mined and succeeded; 0 mined and reverted (the fee is paid all the same)
    calldata_bytes: int = 0  # the transaction's input: what it posted to Layer 1


BeforeSend = Callable[[dict, Any], None]  # (the transaction, eth-account's SignedTransaction)


class Receipt(AttributeDict):
    """A mined transaction's receipt: web3's AttributeDict with a one-line repr for consoles."""

    def __repr__(self) -> str:
        tx = "0x" + bytes(self["transactionHash"]).hex()
        outcome = "" if self["status"] == 1 else ", reverted"
        return f"<receipt {tx[:10]}…{tx[-4:]} block {self['blockNumber']}: {self['gasUsed']:,} gas{outcome}>"


def _dev_accounts(count: int = 10) -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def load_private_key(env_name: str) -> LocalAccount:
    """The account whose key is in environment variable `env_name`; ConfigError if absent or malformed."""
    value = os.environ.get(env_name)
    if value is None or not value.strip():
        raise ConfigError(f"environment variable {env_name} is not set: put the deployer's private key in it")
    text = value.strip()
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", text):
        raise ConfigError(f"environment variable {env_name} is not a private key (expected 64 hex digits)")
    try:
        return Account.from_key(text)
    except (ValueError, Web3Exception) as exc:
        raise ConfigError(f"environment variable {env_name} is not a valid secp256k1 private key: {exc}") from None


class Chain(ABC):
    """A Layer-1 chain with funded local accounts and developer helpers."""

    is_embedded: bool = False
    anvil = None  # set by `layer1` when it started an anvil node for this chain

    def __init__(self, w3: Web3, accounts: list[LocalAccount], evm_version: str = DEFAULT_EVM_VERSION):
        self.w3 = w3
        self.evm_version = evm_version  # the fork the project's contracts are built for (--evm-version)
        self.accounts = accounts
        self.chain_id = w3.eth.chain_id
        self._names: dict[str, str] = {}  # checksum address -> project contract name
        self._recorders: list[list[TxRecord]] = []

    # --- contracts ---------------------------------------------------------------------

    @cached_property
    def artifacts(self) -> Artifacts:
        return compile_project(evm_version=self.evm_version)

    @cached_property
    def node_evm_version(self) -> str | None:
        """The newest fork l2 builds for that this chain runs (None: older than all of them)."""
        return node_evm_version(self.w3)

    def check_evm(self, requirements: list[EvmRequirement]) -> None:
        """EvmVersionError, in one line, unless this chain runs the build and the build meets `requirements`."""
        check_requirements(requirements, self.evm_version, self.node_evm_version, self.describe())

    @cached_property
    def _error_abis(self) -> dict[bytes, tuple[str, list[str]]]:
        """Every custom error of every project contract, by 4-byte selector."""
        return error_table(artifact.abi for artifact in self.artifacts)

    @cached_property
    def _names_by_init_code(self) -> dict[bytes, str]:
        return {bytes(artifact.bytecode): artifact.name for artifact in self.artifacts}

    def contract(self, name: str, address: str) -> Contract:
        address = to_checksum_address(address)
        contract = self.w3.eth.contract(address=address, abi=self.artifacts[name].abi)
        self._names[address] = name
        return contract

    def deploy(self, name: str, *args, sender: LocalAccount | None = None, value: int = 0,
               before_send: BeforeSend | None = None) -> Contract:
        """Deploy project contract `name`; the receipt is kept as `contract.deploy_receipt`."""
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.transact(factory.constructor(*args), sender or self.accounts[0], value=value,
                                before_send=before_send)
        contract = self.w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)
        contract.deploy_receipt = receipt
        return contract

    # --- transactions ------------------------------------------------------------------

    def fees(self) -> dict:
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
        return {"maxFeePerGas": 2 * base_fee + PRIORITY_FEE_WEI, "maxPriorityFeePerGas": PRIORITY_FEE_WEI}

    def transact(self, fn_call, sender: LocalAccount, value: int = 0, gas: int | None = None,
                 estimate_in_next_block: bool = False, before_send: BeforeSend | None = None):
        """Sign `fn_call` (a contract function or constructor call) with `sender`, send it, wait.

        Raises TransactionReverted with the decoded custom error if it would revert.
        `estimate_in_next_block`: estimate gas in the pending block (block.number = latest + 1), as
        the transaction will run, for calls that must land in a later block than the latest one
        (a node estimates in the latest block by default). `before_send(tx, signed)` runs once the
        transaction is signed and before it is sent: the deploy journal records it there.
        """
        with self._exclusive():  # the estimate is made on the state the transaction then runs on
            return self._transact(fn_call, sender, value, gas, estimate_in_next_block, before_send)

    def _exclusive(self) -> contextlib.AbstractContextManager:
        """What keeps other threads off the chain for a whole transaction: nothing on a node (it orders what
        it is sent itself); the embedded chain's lock."""
        return contextlib.nullcontext()

    def _transact(self, fn_call, sender: LocalAccount, value: int, gas: int | None, estimate_in_next_block: bool,
                  before_send: BeforeSend | None):
        params = {
            "from": sender.address,
            "value": value,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
            "chainId": self.chain_id,
            **self.fees(),
        }
        if gas is not None:
            params["gas"] = gas
        try:
            if gas is None and estimate_in_next_block and not self.is_embedded:
                # eth-tester estimates in its pending block already (and has no "pending" estimate).
                params["gas"] = int(fn_call.estimate_gas({k: params[k] for k in ("from", "value")},
                                                         block_identifier="pending") * GAS_MARGIN)
            tx = fn_call.build_transaction(params)  # estimates gas: a revert surfaces here, decoded
        except Exception as exc:  # noqa: BLE001 - every revert shape is translated or re-raised
            raise self._translate_revert(exc, fn_call) from None
        if gas is None and "gas" not in params:
            tx["gas"] = int(tx["gas"] * GAS_MARGIN)
        return self._send(tx, sender, fn_call, before_send)

    def send_eth(self, sender: LocalAccount, to: str, wei: int):
        tx = {
            "from": sender.address,
            "to": to_checksum_address(to),
            "value": wei,
            "gas": 21_000,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
            "chainId": self.chain_id,
            **self.fees(),
        }
        return self._send(tx, sender, None)

    def _send(self, tx: dict, sender: LocalAccount, fn_call, before_send: BeforeSend | None = None):
        signed = sender.sign_transaction(tx)
        if before_send is not None:
            before_send(tx, signed)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:  # noqa: BLE001
            if "insufficient funds" in str(exc).lower():
                raise InsufficientFundsError(f"{sender.address} cannot pay for this transaction: {exc}") from None
            raise self._translate_revert(exc, fn_call) from None
        receipt: Any = Receipt(dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)))
        if receipt.contractAddress and fn_call is not None:
            name = self._names_by_init_code.get(bytes(fn_call.bytecode))
            if name is not None:
                self._names[to_checksum_address(receipt.contractAddress)] = name
        if self._recorders:
            record = self._record_of(tx, receipt, fn_call)
            for recorder in self._recorders:
                recorder.append(record)
        if receipt.status != 1:
            # Estimation passed but inclusion failed (state moved in between, or the gas given was too
            # little for a contract that checks gasleft()): replay with the same gas for the reason.
            replay = {k: tx[k] for k in ("from", "to", "value", "data", "gas") if k in tx}
            try:
                self.w3.eth.call(cast(TxParams, replay), receipt.blockNumber - 1)
            except Exception as exc:  # noqa: BLE001
                raise self._translate_revert(exc, fn_call) from None
            raise TransactionReverted("Unknown", (), _describe(fn_call))
        return receipt

    def _record_of(self, tx: dict, receipt, fn_call) -> TxRecord:
        if fn_call is None:
            contract, function = self._names.get(to_checksum_address(tx["to"]), ""), "transfer"
        elif receipt.contractAddress:
            contract, function = self._names.get(to_checksum_address(receipt.contractAddress), "?"), "constructor"
        else:
            contract, function = self._names.get(fn_call.address, fn_call.address), fn_call.fn_name
        data = tx.get("data") or b""
        size = len(bytes.fromhex(data[2:])) if isinstance(data, str) else len(data)
        return TxRecord(contract, function, receipt.gasUsed, receipt.gasUsed * receipt.effectiveGasPrice,
                        tx["from"], receipt.status, size)

    @contextlib.contextmanager
    def record(self):
        """`with chain.record() as txs:` collects a TxRecord for every transaction this chain mines inside."""
        txs: list[TxRecord] = []
        self._recorders.append(txs)
        try:
            yield txs
        finally:
            self._recorders.remove(txs)

    def note_transaction(self, tx_hash, contract: str, function: str) -> None:
        """Count in the open `record()`s a transaction mined here but sent by someone else (a sidechain
        validator process through its own connection), so that its fee is not lost to the books."""
        if not self._recorders:
            return
        tx: Any = self.w3.eth.get_transaction(tx_hash)
        receipt: Any = self.w3.eth.get_transaction_receipt(tx_hash)
        data = tx.get("input", tx.get("data")) or b""
        size = len(bytes.fromhex(data[2:])) if isinstance(data, str) else len(data)
        record = TxRecord(contract, function, receipt["gasUsed"], receipt["gasUsed"] * receipt["effectiveGasPrice"],
                          tx["from"], receipt["status"], size)
        for recorder in self._recorders:
            recorder.append(record)

    def call(self, fn_call, sender: LocalAccount | None = None):
        params = {"from": sender.address} if sender else {}
        try:
            return fn_call.call(params)
        except Exception as exc:  # noqa: BLE001
            raise self._translate_revert(exc, fn_call) from None

    def _translate_revert(self, exc: Exception, fn_call) -> Exception:
        """A TransactionReverted for revert-shaped errors; anything else comes back unchanged."""
        data = revert_payload(exc)
        if data is None:
            return exc
        if isinstance(data, str):
            return decode_reason(data, _describe(fn_call))
        return self.decode_revert(data, _describe(fn_call))

    def decode_revert(self, data: bytes, detail: str = "") -> TransactionReverted:
        """Revert `data` as the project's custom error (or Error, Panic; UnknownError if it names none)."""
        return decode_revert(data, self._error_abis, detail)

    def events(self, receipt, contract: Contract, event_name: str) -> list:
        return [log.args for log in contract.events[event_name]().process_receipt(receipt, errors=DISCARD)]

    # --- accounts and balances ---------------------------------------------------------

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(to_checksum_address(address))

    def new_account(self, fund_wei: int = 10**21) -> LocalAccount:
        """A fresh key, funded from the first account."""
        account = Account.from_key(secrets.token_bytes(32))
        if fund_wei:
            self.send_eth(self.accounts[0], account.address, fund_wei)
        return account

    # --- time, blocks, snapshots -------------------------------------------------------

    def now(self) -> int:
        """Timestamp of the latest block."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def block_number(self) -> int:
        """Number of the latest block (a channel party asks before every counter-signature)."""
        return self.w3.eth.block_number

    @abstractmethod
    def snapshot(self):
        """Record the chain state; `revert(id)` goes back to it (once)."""

    @abstractmethod
    def revert(self, snapshot_id) -> None: ...

    @abstractmethod
    def advance_time(self, seconds: int) -> None:
        """Mine a block whose timestamp is at least `now() + seconds`."""

    @abstractmethod
    def mine(self, blocks: int = 1) -> None: ...

    def describe(self) -> str:
        return f"chain id {self.chain_id}"

    def close(self) -> None:  # noqa: B027 - a default that does nothing on purpose: the embedded chain holds nothing
        """Release connections; the embedded chain has none."""


class EmbeddedChain(Chain):
    """eth-tester over py-evm, in this process."""

    is_embedded = True

    node_evm_version = DEFAULT_EVM_VERSION  # py-evm's Prague VM

    def __init__(self, evm_version: str = DEFAULT_EVM_VERSION):
        from l2.l1 import precompiles

        precompiles.install()  # EIP-2537's pairing check in blst: py-evm's pure-Python one takes seconds a pair
        provider = EthereumTesterProvider()
        w3 = Web3(provider)
        tester = provider.ethereum_tester
        assert tester is not None  # the provider makes its own EthereumTester
        self.tester = tester
        # One lock for every use of the chain. eth-tester is not thread-safe, and the chain may be used by
        # several threads at once: the sandbox's console and operators, and the sidechain's gateway serving it
        # to validator processes. Requests take it in the provider; what goes to eth-tester directly (below)
        # takes it too, so an estimate and the transaction it sizes, or a mined block and a reader, never
        # interleave with another thread's half-done step.
        self.lock = threading.RLock()
        request = provider.make_request

        def locked(method, params):
            with self.lock:
                return request(method, params)

        provider.make_request = locked  # type: ignore[method-assign]
        keys = self.tester.backend.account_keys
        super().__init__(w3, [Account.from_key(k.to_bytes()) for k in keys], evm_version)

    def _exclusive(self) -> contextlib.AbstractContextManager:
        return self.lock

    def snapshot(self):
        with self.lock:
            return self.tester.take_snapshot()

    def revert(self, snapshot_id) -> None:
        with self.lock:
            self.tester.revert_to_snapshot(snapshot_id)

    def advance_time(self, seconds: int) -> None:
        with self.lock:
            target = self.now() + max(int(seconds), 1)
            # eth-tester mines the travelled-to block one second before the timestamp it is given.
            self.tester.time_travel(target + 1)

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            self.tester.mine_blocks(blocks)

    def block_number(self) -> int:
        # Straight from py-evm's head: the same number as eth_blockNumber, without ~0.16 ms of
        # web3 middleware, on the hot path of connected channel payments.
        with self.lock:
            return self.tester.backend.chain.get_canonical_head().block_number

    def describe(self) -> str:
        return f"embedded py-evm chain (chain id {self.chain_id})"


class RpcChain(Chain):
    """Any Ethereum JSON-RPC node."""

    def __init__(self, url: str, private_key_env: str | None = None, timeout: float = 10.0,
                 evm_version: str = DEFAULT_EVM_VERSION):
        self.url = url
        if not re.match(r"^(https?)://", url):
            raise ConfigError(f"RPC URL must start with http:// or https://, got {url!r}")
        # A timeout is not retried (web3 retries five times by default): a node that stopped answering
        # fails in `timeout`, not six times that; a refused or dropped connection is still retried.
        retry = ExceptionRetryConfiguration(errors=(requests.ConnectionError, requests.HTTPError))
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retry))
        w3.middleware_onion.add(RevertDataMiddleware, name="l2_revert_data")
        probe = Web3(HTTPProvider(url, request_kwargs={"timeout": CONNECT_TIMEOUT}, exception_retry_configuration=None))
        try:
            chain_id = probe.eth.chain_id
            client = probe.client_version
        except requests.Timeout:
            raise ChainConnectionError(
                f"cannot reach a JSON-RPC node at {url}: no answer within {CONNECT_TIMEOUT:g} s "
                "(something accepts connections there but does not answer; is it the node's RPC port?)"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any failure here means "cannot reach the node"
            raise ChainConnectionError(f"cannot reach a JSON-RPC node at {url}: {_connection_failure(exc)}") from None
        self.client_version = client
        self.is_dev_node = chain_id in DEV_CHAIN_IDS and any(n in client.lower() for n in ("anvil", "hardhat"))
        env_name = private_key_env or DEFAULT_PRIVATE_KEY_ENV
        # A dev node started with its own mnemonic (`anvil --mnemonic ...`) funds other keys than the public
        # ones: those would hold nothing there, and every transaction would fail for want of ETH.
        public_keys = self.is_dev_node and self._funds_public_dev_accounts(w3)
        if private_key_env is not None or os.environ.get(env_name):
            accounts = [load_private_key(env_name)]
            if public_keys:
                accounts += [a for a in _dev_accounts() if a.address != accounts[0].address]
        elif public_keys:
            accounts = _dev_accounts()
        elif self.is_dev_node:
            raise ConfigError(
                f"{client.split('/')[0]} at {url} was started with its own mnemonic: the public dev accounts are "
                f"not its accounts; put one of its private keys in {DEFAULT_PRIVATE_KEY_ENV} "
                "(or pass --private-key-env NAME)"
            )
        else:
            raise ConfigError(
                f"{url} is not a dev node: set {DEFAULT_PRIVATE_KEY_ENV} or pass --private-key-env NAME"
            )
        super().__init__(w3, accounts, evm_version)

    @staticmethod
    def _funds_public_dev_accounts(w3: Web3) -> bool:
        """Whether this dev node's own accounts are the public test mnemonic's (anvil's and hardhat's default)."""
        first = _dev_accounts(1)[0].address
        try:
            own = {to_checksum_address(a) for a in w3.eth.accounts}
        except Exception:  # noqa: BLE001 - a node that does not list accounts: judge by the balance
            own = set()
        if own:
            return first in own
        return w3.eth.get_balance(first) > 0

    def _rpc(self, method: str, params: list):
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise ChainConnectionError(f"{method} failed on {self.url}: {response['error']}")
        return response.get("result")

    def snapshot(self):
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id) -> None:
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainConnectionError(f"evm_revert({snapshot_id}) refused: a snapshot is used up by one revert")

    def advance_time(self, seconds: int) -> None:
        self._rpc("evm_setNextBlockTimestamp", [self.now() + max(int(seconds), 1)])
        self._rpc("evm_mine", [])

    def mine(self, blocks: int = 1) -> None:
        if self.is_dev_node:
            self._rpc("anvil_mine" if "anvil" in self.client_version.lower() else "hardhat_mine", [hex(blocks)])
        else:
            for _ in range(blocks):
                self._rpc("evm_mine", [])

    def describe(self) -> str:
        return f"{self.client_version} at {self.url} (chain id {self.chain_id})"

    def close(self) -> None:
        session = getattr(self.w3.provider, "_request_session_manager", None)
        if session is not None and hasattr(session, "cache"):
            try:
                session.cache.clear()
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass


def connect(rpc_url: str | None = None, private_key_env: str | None = None,
            evm_version: str = DEFAULT_EVM_VERSION) -> Chain:
    """The embedded chain (no URL) or a JSON-RPC node, ready to use, with contracts built for `evm_version`."""
    if rpc_url is None:
        return EmbeddedChain(evm_version)
    return RpcChain(rpc_url, private_key_env, evm_version=evm_version)


def add_evm_version_argument(parser) -> None:
    parser.add_argument("--evm-version", choices=EVM_VERSIONS, default=DEFAULT_EVM_VERSION,
                        help=f"build the contracts for this fork (default {DEFAULT_EVM_VERSION}): for a node not on "
                             "Prague yet; a design that needs a newer one is refused")


def add_chain_arguments(parser, *, anvil: bool = True) -> None:
    """The options every command that needs Layer 1 takes; `layer1_for(args)` opens what they name."""
    group = parser.add_mutually_exclusive_group() if anvil else parser
    group.add_argument("--rpc-url", metavar="URL", help="a JSON-RPC node (default: the embedded py-evm chain)")
    if anvil:
        group.add_argument("--anvil", action="store_true",
                           help="start anvil (from node_modules, or $ANVIL_BINARY) and stop it on exit")
        parser.add_argument("--anvil-port", type=int, metavar="PORT", help="with --anvil: listen on this port")
    parser.add_argument(
        "--private-key-env", metavar="NAME",
        help=f"environment variable holding the private key (default {DEFAULT_PRIVATE_KEY_ENV}; "
        "a dev node's public accounts are used when it is unset)",
    )
    add_evm_version_argument(parser)


def layer1_for(args):
    """`layer1(...)` with the options of `add_chain_arguments`."""
    return layer1(getattr(args, "rpc_url", None), anvil=getattr(args, "anvil", False),
                  anvil_port=getattr(args, "anvil_port", None), private_key_env=getattr(args, "private_key_env", None),
                  evm_version=getattr(args, "evm_version", DEFAULT_EVM_VERSION))


@contextlib.contextmanager
def layer1(rpc_url: str | None = None, *, anvil: bool = False, anvil_port: int | None = None,
           private_key_env: str | None = None, evm_version: str = DEFAULT_EVM_VERSION):
    """A Chain for the length of a `with` block: the embedded chain, the node at `rpc_url`, or an
    anvil started here (from node_modules) and stopped when the block exits, however it exits."""
    if anvil and rpc_url is not None:
        raise ConfigError("give either an RPC URL or --anvil, not both")
    if anvil_port is not None and not anvil:
        raise ConfigError("--anvil-port needs --anvil")
    with contextlib.ExitStack() as stack:
        node = None
        if anvil:
            from l2.l1.anvil import run_anvil

            node = stack.enter_context(run_anvil(port=anvil_port))
            rpc_url = node.url
        chain = connect(rpc_url, private_key_env, evm_version)
        chain.anvil = node  # the AnvilNode started for this block (url, pid), or None
        stack.callback(chain.close)
        yield chain


def _connection_failure(exc: Exception) -> str:
    """What went wrong, in words, rather than urllib3's nested reprs."""
    text = str(exc)
    for needle, reason in (("Connection refused", "connection refused (is the node running?)"),
                           ("Errno 111", "connection refused (is the node running?)"),
                           ("Name or service not known", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("timed out", "timed out"),
                           ("Timeout", "timed out")):
        if needle in text:
            return reason
    return text.splitlines()[0][:200] if text else type(exc).__name__


# --- helpers -------------------------------------------------------------------------------------

def _describe(fn_call) -> str:
    if fn_call is None:
        return ""
    name = getattr(fn_call, "fn_name", None) or getattr(fn_call, "abi_element_identifier", None)
    return str(name) if name else "constructor"
