"""Deploy the project's Layer-1 contracts and keep a manifest of what is where.

For a JSON-RPC chain the manifest goes to `deployments/<chainId>-<genesis>.json`
(the first 10 hex digits of block 0's hash: two local nodes that both say chain id
31337 are different chains). It records, per contract, the address, transaction,
block, gas, constructor arguments, deployer, the keccak of the runtime code found
on chain and of the init code sent, and, for the file, the chain id, genesis hash,
compiler and settings. A second run compares that record with the node: a contract
whose recorded code is still at its address and whose init code (source +
arguments) is unchanged is reported `unchanged` and costs no transaction.

A run writes a journal beside the manifest (`<manifest>.journal`, one JSON line per
event, flushed to disk before it goes on): each deployment transaction once it is
signed and before it is sent (with its signed bytes), and again once it is mined. A
run killed at any point therefore knows what it may have paid for. The next run
reads the journal first: a mined deployment whose code is there is kept; a sent one
is looked up by its hash, and if the node does not know it, by the deployer's nonce:
while that nonce is unused the same signed bytes are sent again (they can only land
once), and only a transaction whose nonce went to another one is deployed anew. The
journal is removed once the manifest is written.

Every check that can fail (node, key, manifest, balance for the whole plan) runs
before the first transaction; the manifest is written atomically after the last one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_utils import to_checksum_address
from web3.exceptions import TimeExhausted, TransactionNotFound

from l2.core.crypto import keccak
from l2.errors import ChainConnectionError, InputError, InsufficientFundsError, ManifestError
from l2.files import check_writable, write_atomic
from l2.l1.chain import GAS_MARGIN, Chain
from l2.l1.compiler import IN_CHECKOUT, PROJECT_ROOT, Artifacts
from l2.l1.evm import EvmRequirement

# Installed from a wheel, manifests go to the using project's folder, never into site-packages.
DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments" if IN_CHECKOUT else Path.cwd() / "deployments"
MANIFEST_VERSION = 1
GENESIS_DIGITS = 10  # of block 0's hash in a manifest's file name; the file holds all of it, and is checked
RECEIPT_TIMEOUT = 120


@dataclass
class DeployContext:
    """What a constructor-argument function may ask: dev chain or not, earlier addresses."""

    chain: Chain
    addresses: dict[str, str] = field(default_factory=dict)
    # The first pass only sizes the deployment, before anything is deployed: an address that does not
    # exist yet reads as the zero address there (the same size in the constructor arguments).
    sizing: bool = False

    @property
    def dev(self) -> bool:
        """Embedded chain or a local dev node: short windows, test parameters."""
        return self.chain.is_embedded or getattr(self.chain, "is_dev_node", False)

    def address_of(self, name: str) -> str:
        try:
            return self.addresses[name]
        except KeyError:
            if self.sizing:
                return "0x" + "00" * 20
            raise ManifestError(f"{name} must come before the contracts that need its address") from None


@dataclass(frozen=True)
class ContractSpec:
    """One contract of the deployment plan and how to compute its constructor arguments."""

    name: str
    args: Callable[[DeployContext], tuple] = lambda ctx: ()
    description: str = ""
    evm: EvmRequirement = EvmRequirement()  # the oldest fork it runs on (a design stamps its own on its specs)


# The foundation's own contracts, in deployment order; each design adds its own (`l2.designs.deployment_plan`).
FOUNDATION_PLAN: list[ContractSpec] = [
    ContractSpec(
        "TestToken",
        args=lambda ctx: ("l2 Test Token", "L2T"),
        description="open-mint ERC-20 used by the demo and the sandbox for token channels and deposits",
    ),
]


@dataclass
class DeployResult:
    name: str
    status: str  # "deployed", "recovered" (sent by an interrupted run, found on chain), "unchanged" or "reused"
    record: dict


def _json_arg(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_json_arg(v) for v in value]
    return value


# --- where manifests live ------------------------------------------------------------------

def genesis_hash_of(chain: Chain) -> str:
    return "0x" + bytes(chain.w3.eth.get_block(0)["hash"]).hex()


def manifest_path_for(chain_id: int, genesis_hash: str | None = None) -> Path:
    """`deployments/<chainId>-<genesis>.json`.

    Without `genesis_hash` (a caller that knows only the chain id): the one manifest of that chain id if
    there is exactly one, else the file named by the chain id alone, as manifests were named before."""
    if genesis_hash is not None:
        return DEPLOYMENTS_DIR / f"{chain_id}-{genesis_hash.removeprefix('0x')[:GENESIS_DIGITS]}.json"
    keyed = sorted(DEPLOYMENTS_DIR.glob(f"{chain_id}-*.json"))
    return keyed[0] if len(keyed) == 1 else legacy_manifest_path(chain_id)


def legacy_manifest_path(chain_id: int) -> Path:
    """Where manifests went when they were keyed by chain id alone."""
    return DEPLOYMENTS_DIR / f"{chain_id}.json"


def manifest_for(chain: Chain, log: Callable[[str], None] = lambda line: None) -> tuple[Path, Path]:
    """(where this node's manifest goes, where its previous one is read from).

    The second differs from the first only for a manifest named by the chain id alone, written before
    manifests were keyed by genesis too: it is read while its genesis is this node's; otherwise `log`
    says why it is not."""
    genesis_hash = genesis_hash_of(chain)
    path = manifest_path_for(chain.chain_id, genesis_hash)
    legacy = legacy_manifest_path(chain.chain_id)
    if path.exists() or not legacy.exists():
        return path, path
    try:
        old = read_manifest(legacy)
    except ManifestError as exc:
        log(f"not reading the old manifest: {exc}")
        return path, path
    assert old is not None  # it exists
    if old.get("genesisHash") == genesis_hash and old.get("chainId") == chain.chain_id:
        log(f"reading {_shown(legacy)} (named by chain id alone, same genesis); writing {_shown(path)}")
        return path, legacy
    log(f"not reading {_shown(legacy)}: it is for another chain with id {chain.chain_id} (genesis "
        f"{str(old.get('genesisHash'))[:12]}..., this node's is {genesis_hash[:12]}...)")
    return path, path


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_manifest(path: Path) -> dict | None:
    """The manifest at `path`, None if there is none; ManifestError if it is not a manifest."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); fix or delete it") from None
    if not isinstance(data, dict) or "chainId" not in data or not isinstance(data.get("contracts"), dict):
        raise ManifestError(f"{path} is not a deployment manifest (no chainId/contracts); fix or delete it")
    return data


def check_manifest_matches(manifest: dict, path: Path, chain_id: int, genesis_hash: str, force: bool) -> None:
    """A manifest of another chain is never overwritten; one of a restarted dev chain only with --force."""
    if manifest["chainId"] != chain_id:
        raise ManifestError(
            f"{path} is for chain id {manifest['chainId']}, but the node is chain id {chain_id}; "
            "pass --out with another file"
        )
    if not force and manifest.get("genesisHash") not in (None, genesis_hash):
        raise ManifestError(
            f"{path} was written for another chain with id {chain_id} (genesis {manifest['genesisHash'][:12]}..., "
            f"node has {genesis_hash[:12]}...); pass --force to redeploy and replace it"
        )


def write_manifest(path: Path, manifest: dict) -> None:
    write_atomic(path, json.dumps(manifest, indent=2) + "\n")


# --- the journal ---------------------------------------------------------------------------

class Journal:
    """One JSON object a line, appended and fsync'd before the run goes on: what an interrupted run sent."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def beside(cls, manifest: Path) -> Journal:
        return cls(manifest.with_name(manifest.name + ".journal"))

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        entries = []
        lines = self.path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                if number == len(lines):
                    break  # the line being written when the run was killed: the lines before it say enough
                raise ManifestError(f"{self.path}:{number} is not a journal line; fix or delete the file") from None
        return entries

    def append(self, entry: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _journaled(entries: list[dict], chain_id: int, genesis_hash: str, path: Path) -> dict[str, dict]:
    """name -> what the journal last says of its deployment: {"sent": ..., "mined": ...}."""
    by_name: dict[str, dict] = {}
    for entry in entries:
        if entry.get("event") == "start":
            if (entry.get("chainId"), entry.get("genesisHash")) != (chain_id, genesis_hash):
                raise ManifestError(
                    f"{path} is the journal of a deployment to another chain (chain id {entry.get('chainId')}, "
                    f"genesis {str(entry.get('genesisHash'))[:12]}...); delete it or pass --out with another file"
                )
        elif entry.get("event") == "sent":
            by_name[entry["name"]] = {"sent": entry}
        elif entry.get("event") == "mined":
            by_name.setdefault(entry["name"], {})["mined"] = entry["record"]
    return by_name


# --- what a deployment costs and whether it is already there -------------------------------

def _init_code(chain: Chain, artifacts: Artifacts, name: str, args: tuple) -> bytes:
    factory = chain.w3.eth.contract(abi=artifacts[name].abi, bytecode=artifacts[name].bytecode)
    return bytes.fromhex(factory.constructor(*args).data_in_transaction.removeprefix("0x"))


def _code_hash_at(chain: Chain, address: str) -> str | None:
    code = bytes(chain.w3.eth.get_code(to_checksum_address(address)))
    return "0x" + keccak(code).hex() if code else None


def _is_unchanged(chain: Chain, record: dict | None, init_code_hash: str) -> bool:
    if not record or record.get("initCodeHash") != init_code_hash:
        return False
    return _code_hash_at(chain, record["address"]) == record.get("runtimeCodeHash")


def _gas_bound(init_code: bytes, runtime_len: int) -> int:
    """Generous upper bound of a deployment's gas: intrinsic, calldata floor, code deposit, storage."""
    return 53_000 + 40 * len(init_code) + 200 * runtime_len + 250_000


def _gas_limit(chain: Chain, sender: str, init_code: bytes, runtime_len: int) -> int:
    """The gas limit the deployment will be sent with (the estimate and Chain.transact's margin), or the
    bound where the node cannot estimate it yet (a constructor that calls a contract not deployed yet)."""
    try:
        return int(chain.w3.eth.estimate_gas({"from": to_checksum_address(sender), "data": init_code}) * GAS_MARGIN)
    except Exception:  # noqa: BLE001 - any refusal to estimate: count the bound instead
        return _gas_bound(init_code, runtime_len)


def create_address(sender: str, nonce: int) -> str:
    """The address a contract created by `sender`'s transaction number `nonce` gets: keccak(rlp([sender, nonce]))."""
    raw = bytes.fromhex(sender.removeprefix("0x"))
    encoded_nonce = (b"\x80" if nonce == 0 else bytes([nonce]) if nonce < 0x80
                     else bytes([0x80 + (nonce.bit_length() + 7) // 8]) + nonce.to_bytes((nonce.bit_length() + 7) // 8))
    payload = bytes([0x80 + len(raw)]) + raw + encoded_nonce
    return to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


def _record(chain: Chain, receipt, args: tuple, init_hash: str, artifacts: Artifacts, name: str,
            deployer: str) -> dict:
    code_hash = _code_hash_at(chain, receipt.contractAddress)
    return {
        "address": to_checksum_address(receipt.contractAddress),
        "transactionHash": "0x" + bytes(receipt.transactionHash).hex(),
        "blockNumber": receipt.blockNumber,
        "gasUsed": receipt.gasUsed,
        "constructorArgs": _json_arg(list(args)),
        "deployer": deployer,
        "runtimeCodeHash": code_hash,
        "initCodeHash": init_hash,
        "source": artifacts[name].source,
    }


def _receipt(chain: Chain, tx_hash: str):
    try:
        return chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return None


def _find_sent(chain: Chain, sent: dict, resend: bool, log: Callable[[str], None]):
    """The receipt of a deployment the journal says was sent; None if it can never be mined.

    By hash first. A transaction the node does not know is resent as it was signed, while the deployer's
    nonce is still unused: the same bytes can only land once. Once that nonce went to another
    transaction, this one never will. With `resend` False (sizing the plan) nothing is sent or waited
    for: a pending transaction reads as None."""
    name, tx_hash = sent["name"], sent["transactionHash"]
    receipt = _receipt(chain, tx_hash)
    if receipt is not None or not resend:
        return receipt
    try:
        chain.w3.eth.get_transaction(tx_hash)
        known = True
    except TransactionNotFound:
        known = False
    if not known:
        used = chain.w3.eth.get_transaction_count(to_checksum_address(sent["from"]))
        if used > sent["nonce"]:
            log(f"{name}: transaction {tx_hash[:12]}... is not on chain and nonce {sent['nonce']} went to "
                "another: deploying again")
            return None
        log(f"{name}: sending transaction {tx_hash[:12]}... again as it was signed (the node does not know it)")
        try:
            chain.w3.eth.send_raw_transaction(sent["raw"])
        except Exception as exc:  # noqa: BLE001 - it may have landed meanwhile; otherwise say what the node said
            receipt = _receipt(chain, tx_hash)
            if receipt is None:
                raise ChainConnectionError(f"{name}: the node refused transaction {tx_hash} sent again: "
                                           f"{str(exc).splitlines()[0][:200]}") from None
            return receipt
    try:
        return chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
    except TimeExhausted:
        raise ChainConnectionError(f"{name}: transaction {tx_hash} was not mined within {RECEIPT_TIMEOUT} s; "
                                   "run again later (it is in the journal)") from None


# --- deploy --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    """What the transactions still to send may cost: each one's gas limit at the fee it will offer."""

    transactions: int
    gas: int
    fee_per_gas: int

    @property
    def wei(self) -> int:
        return self.gas * self.fee_per_gas  # + the value sent with each: no contract of a plan takes one


def deployment_cost(chain: Chain, plan: list[ContractSpec], previous: dict | None = None,
                    journaled: dict[str, dict] | None = None) -> Cost:
    """The cost of deploying what neither the previous manifest nor the journal has on chain already.

    A contract still to deploy gets, for the estimate, the address its deployment will get (the
    deployer's next nonces, in plan order), so that constructors taking earlier addresses estimate as
    they will run; where the node cannot estimate, a generous bound counts instead."""
    artifacts, deployer, journaled = chain.artifacts, chain.accounts[0], journaled or {}
    next_nonce = int(chain.w3.eth.get_transaction_count(deployer.address, "pending"))
    gas = to_send = 0
    ctx = DeployContext(chain, sizing=True)
    for spec in plan:
        old = (previous or {}).get("contracts", {}).get(spec.name)
        args = spec.args(ctx)
        init_code = _init_code(chain, artifacts, spec.name, args)
        init_hash = "0x" + keccak(init_code).hex()
        found = old if _is_unchanged(chain, old, init_hash) else None
        entry = journaled.get(spec.name, {})
        if found is None and _is_unchanged(chain, entry.get("mined"), init_hash):
            found = entry["mined"]
        if found is None and entry.get("sent", {}).get("initCodeHash") == init_hash:
            receipt = _find_sent(chain, entry["sent"], resend=False, log=lambda line: None)
            if receipt is not None and receipt.status == 1:
                found = {"address": receipt.contractAddress}
        if found is not None:
            ctx.addresses[spec.name] = found["address"]
            continue
        ctx.addresses[spec.name] = create_address(deployer.address, next_nonce)
        next_nonce += 1
        gas += _gas_limit(chain, deployer.address, init_code, len(artifacts[spec.name].runtime_bytecode))
        to_send += 1
    return Cost(to_send, gas, chain.fees()["maxFeePerGas"])


def deploy_all(
    chain: Chain,
    *,
    out: Path | None = None,
    force: bool = False,
    plan: list[ContractSpec] | None = None,
    log: Callable[[str], None] = lambda line: None,
    previous_path: Path | None = None,
) -> tuple[list[DeployResult], dict]:
    """Deploy what changed; return the results and the manifest (written to `out` if given, with a journal
    beside it while the run lasts). `previous_path`: read the previous manifest there instead of at `out`."""
    plan = FOUNDATION_PLAN if plan is None else plan
    # Before anything is compiled or sent: a build the node cannot run, or a design it cannot build, in one line.
    chain.check_evm([spec.evm for spec in plan])
    genesis_hash = genesis_hash_of(chain)
    journal = Journal.beside(out) if out is not None else None
    if out is not None:
        check_writable(out)  # a manifest we cannot write would lose the record of what we deploy
    previous_path = previous_path or out
    previous = read_manifest(previous_path) if previous_path is not None else None
    if previous is not None and previous_path is not None:
        check_manifest_matches(previous, previous_path, chain.chain_id, genesis_hash, force)
    if force:
        previous = None
    journaled = _journaled(journal.entries(), chain.chain_id, genesis_hash, journal.path) if journal else {}
    artifacts = chain.artifacts
    deployer = chain.accounts[0]

    cost = deployment_cost(chain, plan, previous, journaled)
    balance = chain.balance(deployer.address)
    if cost.wei > balance:
        raise InsufficientFundsError(
            f"deployer {deployer.address} has {balance / 1e18:.6f} ETH but the {cost.transactions} deployment(s) "
            f"to send need up to {cost.wei / 1e18:.6f} ETH ({cost.gas:,} gas at up to {cost.fee_per_gas / 1e9:.2f} "
            "gwei); fund it and run again"
        )

    if journal is not None:
        journal.append({"event": "start", "chainId": chain.chain_id, "genesisHash": genesis_hash,
                        "deployer": deployer.address, "at": _now()})
    results: list[DeployResult] = []
    ctx = DeployContext(chain)
    for spec in plan:
        old = (previous or {}).get("contracts", {}).get(spec.name)
        args = spec.args(ctx)  # recomputed: an earlier redeploy may have changed an address
        init_code = _init_code(chain, artifacts, spec.name, args)
        init_hash = "0x" + keccak(init_code).hex()
        if _is_unchanged(chain, old, init_hash):
            ctx.addresses[spec.name] = old["address"]
            results.append(DeployResult(spec.name, "unchanged", old))
            log(f"{spec.name}: unchanged at {old['address']}")
            continue
        record = _recover(chain, journaled.get(spec.name, {}), init_hash, args, artifacts, spec.name, log)
        if record is not None:
            if journal is not None:
                journal.append({"event": "mined", "name": spec.name, "record": record})
            ctx.addresses[spec.name] = record["address"]
            results.append(DeployResult(spec.name, "recovered", record))
            log(f"{spec.name}: deployed at {record['address']} by the interrupted run (gas {record['gasUsed']:,})")
            continue

        def before_send(tx: dict, signed, name: str = spec.name, init_hash: str = init_hash) -> None:
            if journal is not None:
                journal.append({"event": "sent", "name": name, "initCodeHash": init_hash, "from": tx["from"],
                                "nonce": tx["nonce"], "transactionHash": "0x" + bytes(signed.hash).hex(),
                                "raw": "0x" + bytes(signed.raw_transaction).hex(), "at": _now()})

        contract = chain.deploy(spec.name, *args, sender=deployer, before_send=before_send)
        receipt = contract.deploy_receipt  # type: ignore[attr-defined]  # set by Chain.deploy
        record = _record(chain, receipt, args, init_hash, artifacts, spec.name, deployer.address)
        if journal is not None:
            journal.append({"event": "mined", "name": spec.name, "record": record})
        ctx.addresses[spec.name] = contract.address
        results.append(DeployResult(spec.name, "deployed", record))
        log(f"{spec.name}: deployed at {contract.address} (gas {receipt.gasUsed:,})")

    now = _now()
    manifest = {
        "manifestVersion": MANIFEST_VERSION,
        "chainId": chain.chain_id,
        "genesisHash": genesis_hash,
        "createdAt": (previous or {}).get("createdAt", now),
        "updatedAt": now,
        "compiler": {"version": artifacts.compiler_version, "settingsHash": artifacts.settings_hash},
        "contracts": {r.name: r.record for r in results},
    }
    if out is not None:
        write_manifest(out, manifest)
    if journal is not None:
        journal.remove()  # everything it held is in the manifest now
    return results, manifest


def _recover(chain: Chain, entry: dict, init_hash: str, args: tuple, artifacts: Artifacts, name: str,
             log: Callable[[str], None]) -> dict | None:
    """The record of `name`'s deployment by an interrupted run, if it is on chain and of the same init code."""
    mined, sent = entry.get("mined"), entry.get("sent")
    if mined is not None and mined.get("initCodeHash") == init_hash:
        if _is_unchanged(chain, mined, init_hash):
            return mined
        log(f"{name}: the interrupted run recorded it at {mined['address']}, but its code is not there: "
            "deploying again")
        return None
    if sent is None or sent.get("initCodeHash") != init_hash:
        return None  # never sent, or sent for sources or arguments since changed: this run deploys its own
    receipt = _find_sent(chain, sent, resend=True, log=log)
    if receipt is None:
        return None
    if receipt.status != 1:
        log(f"{name}: the interrupted run's transaction {sent['transactionHash'][:12]}... reverted: deploying again")
        return None
    return _record(chain, receipt, args, init_hash, artifacts, name, sent["from"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- reuse ---------------------------------------------------------------------------------

def reuse_deployment(chain: Chain, plan: list[ContractSpec], manifest_path: Path | None = None,
                     log: Callable[[str], None] = lambda line: None) -> list[DeployResult]:
    """The plan's contracts as the manifest (default: this node's) records them, after checking that each
    one's recorded code is at its address and that this checkout would deploy the same init code (source
    and arguments); ManifestError, naming the first that is not, otherwise."""
    if chain.is_embedded or getattr(chain, "anvil", None) is not None:
        raise InputError("--reuse needs a node that keeps its contracts (--rpc-url URL): "
                         "a chain started for this command starts empty")
    chain.check_evm([spec.evm for spec in plan])
    genesis_hash = genesis_hash_of(chain)
    path = manifest_path
    if path is None:
        path = manifest_for(chain, log)[1]
    manifest = read_manifest(path)
    if manifest is None:
        raise ManifestError(f"no manifest at {path}: deploy first (l2 deploy --rpc-url URL) or pass --manifest FILE")
    if (manifest["chainId"], manifest.get("genesisHash")) != (chain.chain_id, genesis_hash):
        raise ManifestError(
            f"{path} is for chain id {manifest['chainId']} (genesis {str(manifest.get('genesisHash'))[:12]}...), "
            f"not this node's (chain id {chain.chain_id}, genesis {genesis_hash[:12]}...): deploy there first"
        )
    artifacts = chain.artifacts
    results = []
    ctx = DeployContext(chain)
    for spec in plan:
        record = manifest["contracts"].get(spec.name)
        if record is None:
            raise ManifestError(f"{path} has no {spec.name}: deploy it first (l2 deploy --rpc-url URL)")
        ctx.addresses[spec.name] = record["address"]
        found = _code_hash_at(chain, record["address"])
        if found is None:
            raise ManifestError(f"no code at {record['address']}, where {path} records {spec.name}: the node "
                                "does not hold that deployment (restarted?); deploy again (l2 deploy --rpc-url URL)")
        if found != record.get("runtimeCodeHash"):
            raise ManifestError(f"the code at {record['address']} is not the {spec.name} that {path} records; "
                                "deploy again (l2 deploy --rpc-url URL)")
        init_hash = "0x" + keccak(_init_code(chain, artifacts, spec.name, spec.args(ctx))).hex()
        if init_hash != record.get("initCodeHash"):
            raise ManifestError(f"{spec.name} at {record['address']} was deployed from other sources or arguments "
                                "than this checkout's; update it with l2 deploy --rpc-url URL")
        results.append(DeployResult(spec.name, "reused", record))
    log(f"{_shown(path)}: its {len(results)} contracts reused, each one's recorded code found at its address")
    return results


def add_reuse_arguments(parser) -> None:
    """`--reuse` and `--manifest FILE` for the commands that otherwise deploy a fresh set of contracts."""
    parser.add_argument("--reuse", action="store_true",
                        help="use the contracts of the node's manifest (from l2 deploy) instead of deploying, "
                             "after checking that their code is there")
    parser.add_argument("--manifest", type=Path, metavar="FILE",
                        help="with --reuse: this manifest (default: deployments/<chainId>-<genesis>.json)")


def check_reuse_arguments(args) -> None:
    """Before anything starts: --reuse needs a node of one's own, --manifest needs --reuse."""
    if getattr(args, "manifest", None) is not None and not args.reuse:
        raise InputError("--manifest needs --reuse")
    if getattr(args, "reuse", False) and getattr(args, "rpc_url", None) is None:
        raise InputError("--reuse needs a node that keeps its contracts (--rpc-url URL): "
                         "the embedded chain and an anvil started for this command start empty")


def contracts_for(chain: Chain, plan: list[ContractSpec], reuse: bool = False, manifest: Path | None = None,
                  log: Callable[[str], None] = lambda line: None) -> list[DeployResult]:
    """The plan's contracts on `chain`: a fresh deployment, or with `reuse` the manifest's (`reuse_deployment`)."""
    if reuse:
        return reuse_deployment(chain, plan, manifest, log)
    return deploy_all(chain, plan=plan)[0]
