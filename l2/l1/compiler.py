"""Compile the project's Solidity, offline, with a cache.

py-solc-x cannot download solc here, so by default it drives solc-js (the npm
package `solc`, pinned in package.json) through `l2/tools/solc.js`, a launcher
that answers `--version` and `--standard-json` like native solc. A native solc
wins when one is available: `$SOLC_BINARY`, or one py-solc-x installed at the
pinned version.

All sources compile in one standard-JSON call. The result is cached in
`build/artifacts.json` under a key made of the compiler identity, the settings
and every source's hash, so an unchanged tree never recompiles. A build for
another EVM version than Prague (`--evm-version cancun`, for a node not on
Prague yet) has its own cache, `build/artifacts-cancun.json`.

Installed from a wheel (no checkout around the package), the contracts' sources and
the artifacts compiled from them travel inside the package, in `l2/solidity/` (put
there by setup.py when the wheel is built): `compile_project()` returns those, so a
project using l2 needs neither node nor solc. `l2 compile` still builds them from
the bundled sources where a compiler is found (SOLC_BINARY, py-solc-x, or solc-js in
./node_modules), into ~/.cache/l2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import solcx
from solcx.exceptions import SolcError

from l2.errors import CompileError, ToolMissingError
from l2.files import write_atomic
from l2.l1.evm import DEFAULT_EVM_VERSION, check_evm_version

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout; for an installed wheel, site-packages
# Only a built wheel has this folder (setup.py writes it): the contracts' sources and their artifacts.
BUNDLED_DIR = PACKAGE_DIR / "solidity"
BUNDLED_ARTIFACTS = BUNDLED_DIR / "artifacts.json"
IN_CHECKOUT = not BUNDLED_DIR.is_dir()
CONTRACTS_DIR = PROJECT_ROOT / "contracts" if IN_CHECKOUT else BUNDLED_DIR / "contracts"
BUILD_DIR = (PROJECT_ROOT / "build" if IN_CHECKOUT
             else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "l2")
CACHE_FILE = BUILD_DIR / "artifacts.json"
SOLCJS_LAUNCHER = PACKAGE_DIR / "tools" / "solc.js"
SOLCJS_PACKAGE = PROJECT_ROOT / "node_modules" / "solc" / "package.json"

# py-evm's newest VM is Prague; solc >= 0.8.30 would otherwise target a later fork.
EVM_VERSION = DEFAULT_EVM_VERSION


def settings(evm_version: str = DEFAULT_EVM_VERSION) -> dict:
    """solc's settings for a build targeting `evm_version`."""
    return {
        "evmVersion": check_evm_version(evm_version),
        "optimizer": {"enabled": True, "runs": 200},
        "outputSelection": {
            "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]},
        },
    }


SETTINGS = settings()


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract: everything needed to deploy it and talk to it."""

    name: str
    source: str  # path relative to the project root, e.g. "contracts/test/TestToken.sol"
    abi: list
    bytecode: bytes
    runtime_bytecode: bytes


@dataclass(frozen=True)
class Artifacts:
    """The compiled project, by contract name (names are unique project-wide)."""

    compiler_version: str
    settings_hash: str
    cache_key: str
    contracts: dict[str, ContractArtifact]
    warnings: tuple[str, ...] = field(default=())
    evm_version: str = DEFAULT_EVM_VERSION  # the fork the bytecode targets (solc's evmVersion)

    def __getitem__(self, name: str) -> ContractArtifact:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts))
            raise CompileError(f"no contract named {name!r} in contracts/ (known: {known})") from None

    def __contains__(self, name: str) -> bool:
        return name in self.contracts

    def __iter__(self):
        return iter(self.contracts.values())


@dataclass(frozen=True)
class Compiler:
    """Which solc to run and how it identifies itself in the cache key."""

    binary: Path
    identity: str  # cheap to compute: no process is started for a cache hit


def settings_hash(evm_version: str = DEFAULT_EVM_VERSION) -> str:
    return hashlib.sha256(json.dumps(settings(evm_version), sort_keys=True).encode()).hexdigest()


def cache_name(evm_version: str = DEFAULT_EVM_VERSION) -> str:
    """The cache file of a build for `evm_version`: Prague's keeps the name a wheel bundles."""
    return CACHE_FILE.name if evm_version == DEFAULT_EVM_VERSION else f"{CACHE_FILE.stem}-{evm_version}.json"


def pinned_solcjs_version() -> str:
    # Installed, solc-js is the using project's own (`npm install solc`): l2/tools/solc.js finds it in ./node_modules.
    package = SOLCJS_PACKAGE if IN_CHECKOUT else Path.cwd() / "node_modules" / "solc" / "package.json"
    if not package.exists():
        raise ToolMissingError(f"solc-js is not installed ({package.parent}): run `make` or `npm ci`"
                               if IN_CHECKOUT else f"no Solidity compiler: solc-js is not in {package.parent} "
                               "(`npm install solc`) and SOLC_BINARY is not set")
    return json.loads(package.read_text())["version"]


def find_compiler() -> Compiler:
    """Native solc if configured or installed by py-solc-x at the pinned version, else solc-js."""
    override = os.environ.get("SOLC_BINARY")
    if override:
        path = Path(override)
        if not path.is_file():
            raise ToolMissingError(f"SOLC_BINARY={override} does not exist")
        stat = path.stat()
        return Compiler(path, f"native:{path}:{stat.st_size}:{stat.st_mtime_ns}")
    version = pinned_solcjs_version()
    try:
        installed = {str(v) for v in solcx.get_installed_solc_versions()}
    except Exception:  # py-solc-x's folder may not exist at all; that just means "none installed"
        installed = set()
    if version in installed:
        path = Path(solcx.install.get_executable(version))
        return Compiler(path, f"native:{version}")
    if shutil.which("node") is None:
        raise ToolMissingError("node is not on PATH: solc-js needs Node.js (>= 18)")
    return Compiler(SOLCJS_LAUNCHER, f"solcjs:{version}")


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """Every .sol file under `contracts_dir`, keyed by its path relative to the folder above it."""
    files = sorted(contracts_dir.rglob("*.sol"))
    return {str(p.relative_to(contracts_dir.parent)): p.read_text() for p in files}


def source_hashes(sources: dict[str, str]) -> dict[str, str]:
    """sha256 of each source, recorded with the artifacts: a wheel is built only from artifacts of its sources."""
    return {path: hashlib.sha256(text.encode()).hexdigest() for path, text in sources.items()}


def bundled_artifacts(sources: dict[str, str]) -> Artifacts:
    """The artifacts an installed wheel carries, checked to be those of the sources it carries."""
    try:
        data = json.loads(BUNDLED_ARTIFACTS.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise CompileError(f"the installed package's artifacts cannot be read ({BUNDLED_ARTIFACTS}): {exc}") from None
    if data.get("sources") != source_hashes(sources):
        raise CompileError(f"{BUNDLED_ARTIFACTS} was not compiled from the sources beside it: reinstall l2")
    return _artifacts_from_json(data)


def cache_key(compiler: Compiler, sources: dict[str, str], evm_version: str = DEFAULT_EVM_VERSION) -> str:
    digest = hashlib.sha256()
    digest.update(compiler.identity.encode())
    digest.update(settings_hash(evm_version).encode())
    for path, text in sources.items():
        digest.update(path.encode() + b"\0" + hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def format_errors(errors: list[dict] | dict, sources: dict[str, str]) -> str:
    """solc's errors as `file:line: message`, the way a developer's editor wants them."""
    lines = []
    for err in errors if isinstance(errors, list) else [errors]:
        if err.get("severity") != "error":
            continue
        location = err.get("sourceLocation")
        if location and location.get("file") in sources:
            line = _line_of(sources[location["file"]], location.get("start", 0))
            lines.append(f"{location['file']}:{line}: {err.get('type', 'Error')}: {err['message']}")
        else:
            lines.append(f"{err.get('type', 'Error')}: {err['message']}")
    return "\n".join(lines)


def _load_cache(cache_file: Path, key: str) -> Artifacts | None:
    try:
        data = json.loads(cache_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if data.get("cache_key") != key or "sources" not in data:  # a cache from before sources were recorded
        return None
    return _artifacts_from_json(data)


def _artifacts_from_json(data: dict) -> Artifacts:
    contracts = {
        name: ContractArtifact(
            name=name,
            source=c["source"],
            abi=c["abi"],
            bytecode=bytes.fromhex(c["bytecode"]),
            runtime_bytecode=bytes.fromhex(c["runtime_bytecode"]),
        )
        for name, c in data["contracts"].items()
    }
    return Artifacts(
        compiler_version=data["compiler_version"],
        settings_hash=data["settings_hash"],
        cache_key=data["cache_key"],
        contracts=contracts,
        warnings=tuple(data.get("warnings", ())),
        evm_version=data.get("evm_version", DEFAULT_EVM_VERSION),
    )


def _run_version(compiler: Compiler) -> str:
    out = subprocess.run([str(compiler.binary), "--version"], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise ToolMissingError(f"{compiler.binary} --version did not print a version: {out.stderr.strip()}")


def compile_project(
    force: bool = False, contracts_dir: Path = CONTRACTS_DIR, build_dir: Path = BUILD_DIR,
    evm_version: str = DEFAULT_EVM_VERSION,
) -> Artifacts:
    """Compile every contract under `contracts_dir` for `evm_version` (or load the cache when nothing changed)."""
    check_evm_version(evm_version)
    sources = source_files(contracts_dir)
    if not sources:
        raise CompileError(f"no Solidity sources under {contracts_dir}")
    if not IN_CHECKOUT and not force and contracts_dir == CONTRACTS_DIR and evm_version == DEFAULT_EVM_VERSION:
        return bundled_artifacts(sources)
    cache_file = build_dir / cache_name(evm_version)
    compiler = find_compiler()
    key = cache_key(compiler, sources, evm_version)
    if not force:
        cached = _load_cache(cache_file, key)
        if cached is not None:
            return cached

    standard_input = {
        "language": "Solidity",
        "sources": {path: {"content": text} for path, text in sources.items()},
        "settings": settings(evm_version),
    }
    try:
        output = solcx.compile_standard(
            standard_input, solc_binary=compiler.binary, allow_paths=[str(contracts_dir.parent)]
        )
    except SolcError as exc:
        if exc.error_dict:
            raise CompileError(format_errors(exc.error_dict, sources)) from None
        raise CompileError(f"solc failed: {exc.message} {(exc.stderr_data or '').strip()}") from None

    contracts: dict[str, dict] = {}
    for path, units in output.get("contracts", {}).items():
        for name, unit in units.items():
            if name in contracts:
                raise CompileError(
                    f"{path}: contract name {name!r} is also used in {contracts[name]['source']}; "
                    "names must be unique so artifacts can be looked up by name"
                )
            contracts[name] = {
                "source": path,
                "abi": unit["abi"],
                "bytecode": unit["evm"]["bytecode"]["object"],
                "runtime_bytecode": unit["evm"]["deployedBytecode"]["object"],
            }
    warnings = [
        e.get("formattedMessage", e["message"]).strip()
        for e in output.get("errors", [])
        if e.get("severity") == "warning"
    ]
    data = {
        "cache_key": key,
        "compiler_version": _run_version(compiler),
        "settings_hash": settings_hash(evm_version),
        "evm_version": evm_version,
        "sources": source_hashes(sources),
        "built_at": int(time.time()),
        "contracts": contracts,
        "warnings": warnings,
    }
    write_atomic(cache_file, json.dumps(data))
    return _artifacts_from_json(data)


# --- `l2 compile` ----------------------------------------------------------------------------

def add_arguments(parser) -> None:
    """`l2 compile [--evm-version V]`: it always builds from source."""
    from l2.l1.chain import add_evm_version_argument

    add_evm_version_argument(parser)


def run(args) -> int:
    artifacts = compile_project(force=True, evm_version=args.evm_version)
    print(f"compiled {len(artifacts.contracts)} contracts with solc {artifacts.compiler_version} "
          f"for {artifacts.evm_version}")
    for warning in artifacts.warnings:
        print(f"warning: {warning.splitlines()[0]}")
    return 0
