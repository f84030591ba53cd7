"""Deploy the project's Layer-1 contracts and keep a manifest of what is where.

For a JSON-RPC chain the manifest goes to `deployments/<chainId>.json`. It
records, per contract, the address, transaction, block, gas, constructor
arguments, deployer, the keccak of the runtime code found on chain and of the
init code sent, and, for the file, the chain id, genesis hash, compiler and
settings. A second run compares that record with the node: a contract whose
recorded code is still at its address and whose init code (source + arguments)
is unchanged is reported `unchanged` and costs no transaction.

Every check that can fail (node, key, manifest, balance) runs before the first
transaction; the manifest is written once, atomically, after the last one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_utils import to_checksum_address

from l2.core.crypto import keccak
from l2.errors import InsufficientFundsError, ManifestError
from l2.files import check_writable, write_atomic
from l2.l1.chain import Chain
from l2.l1.compiler import PROJECT_ROOT, Artifacts

DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments"
MANIFEST_VERSION = 1


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
    status: str  # "deployed" or "unchanged"
    record: dict


def _json_arg(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_json_arg(v) for v in value]
    return value


def manifest_path_for(chain_id: int) -> Path:
    return DEPLOYMENTS_DIR / f"{chain_id}.json"


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


def _init_code(chain: Chain, artifacts: Artifacts, name: str, args: tuple) -> bytes:
    factory = chain.w3.eth.contract(abi=artifacts[name].abi, bytecode=artifacts[name].bytecode)
    return bytes.fromhex(factory.constructor(*args).data_in_transaction.removeprefix("0x"))


def _is_unchanged(chain: Chain, record: dict | None, init_code_hash: str) -> bool:
    if not record or record.get("initCodeHash") != init_code_hash:
        return False
    code = chain.w3.eth.get_code(to_checksum_address(record["address"]))
    return bool(code) and "0x" + keccak(bytes(code)).hex() == record.get("runtimeCodeHash")


def _gas_bound(init_code: bytes, runtime_len: int) -> int:
    """Generous upper bound of a deployment's gas: intrinsic, calldata floor, code deposit, storage."""
    return 53_000 + 40 * len(init_code) + 200 * runtime_len + 250_000


def deploy_all(
    chain: Chain,
    *,
    out: Path | None = None,
    force: bool = False,
    plan: list[ContractSpec] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> tuple[list[DeployResult], dict]:
    """Deploy what changed; return the results and the manifest (written to `out` if given)."""
    plan = FOUNDATION_PLAN if plan is None else plan
    genesis_hash = "0x" + bytes(chain.w3.eth.get_block(0)["hash"]).hex()
    if out is not None:
        check_writable(out)  # a manifest we cannot write would lose the record of what we deploy
    previous = read_manifest(out) if out is not None else None
    if previous is not None and out is not None:
        check_manifest_matches(previous, out, chain.chain_id, genesis_hash, force)
    if force:
        previous = None
    artifacts = chain.artifacts
    deployer = chain.accounts[0]

    # Decide everything and check the balance before sending anything.
    fee_per_gas = chain.fees()["maxFeePerGas"]
    balance = chain.balance(deployer.address)
    needed = 0
    ctx = DeployContext(chain, sizing=True)
    for spec in plan:
        old = (previous or {}).get("contracts", {}).get(spec.name)
        if old is not None:
            ctx.addresses[spec.name] = old["address"]  # provisional: may change if redeployed below
        args = spec.args(ctx)
        init_code = _init_code(chain, artifacts, spec.name, args)
        init_hash = "0x" + keccak(init_code).hex()
        if not _is_unchanged(chain, old, init_hash):
            needed += _gas_bound(init_code, len(artifacts[spec.name].runtime_bytecode)) * fee_per_gas
    if needed > balance:
        raise InsufficientFundsError(
            f"deployer {deployer.address} has {balance / 1e18:.6f} ETH but the deployment may cost up to "
            f"{needed / 1e18:.6f} ETH; fund it and run again"
        )

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
        contract = chain.deploy(spec.name, *args, sender=deployer)
        receipt = contract.deploy_receipt  # type: ignore[attr-defined]  # set by Chain.deploy
        code = bytes(chain.w3.eth.get_code(contract.address))
        record = {
            "address": contract.address,
            "transactionHash": "0x" + bytes(receipt.transactionHash).hex(),
            "blockNumber": receipt.blockNumber,
            "gasUsed": receipt.gasUsed,
            "constructorArgs": _json_arg(list(args)),
            "deployer": deployer.address,
            "runtimeCodeHash": "0x" + keccak(code).hex(),
            "initCodeHash": init_hash,
            "source": artifacts[spec.name].source,
        }
        ctx.addresses[spec.name] = contract.address
        results.append(DeployResult(spec.name, "deployed", record))
        log(f"{spec.name}: deployed at {contract.address} (gas {receipt.gasUsed:,})")

    now = datetime.now(UTC).isoformat(timespec="seconds")
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
    return results, manifest


def write_manifest(path: Path, manifest: dict) -> None:
    write_atomic(path, json.dumps(manifest, indent=2) + "\n")
