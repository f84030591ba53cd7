"""The l2 pytest plugin: Layer 1, l2's designs and your own contracts as fixtures, deployed once per session.

Installed with l2 (entry point `pytest11`, name `l2`; `-p no:l2` turns it off). Fixtures:

- `chain`: the Layer-1 `Chain` for the session: the embedded py-evm chain, or `--l2-rpc-url URL`, or
  `--l2-anvil` (an anvil node started for the session and stopped after it). It deploys l2's contracts
  and yours by name: `chain.deploy("MyVault", arg, sender=accounts.alice)`. Your contracts are the
  Solidity under `--l2-contracts DIR` (default: `contracts/` in the rootdir), compiled with solc-js
  from ./node_modules or $SOLC_BINARY, cached in `build/`; a revert names their custom errors too.
- every test that uses the chain starts from the same state: a snapshot before it, reverted after it
  (session fixtures, deployments included, are set up before the snapshot, so they stay);
- `accounts`: named, funded accounts: `operator` (the deployer), `challenger`, `alice`, `bob`, `carol`,
  `dave` (`accounts.alice` or `accounts["alice"]`); on a node without dev accounts, keys derived from
  the deployer's and topped up from it;
- `designs`: every registered Layer-2 design deployed once per session (`designs["channels"].contracts`,
  `designs.token`, `designs.addresses`);
- `operators(name)`: that design's operators and parties started for the test, as `l2 sandbox` starts
  them (`operators("channels").alice_channel`, `.step()` runs its services once);
- `time_travel(seconds)` and `mine(blocks)`.

Nothing here names a design: they come from the registry (`l2.designs.DESIGNS`). Heavy imports wait
for the first fixture, so a pytest session that uses none of this pays nothing for it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from l2.designs.api import Design, SandboxPart
    from l2.l1.accounts import NamedAccount
    from l2.l1.chain import Chain


def pytest_addoption(parser) -> None:
    group = parser.getgroup("l2", "l2: a Layer-1 chain and the Layer-2 designs as fixtures")
    group.addoption("--l2-rpc-url", metavar="URL", default=None,
                    help="run the tests on the JSON-RPC node at URL (its dev accounts, or the key in $L2_PRIVATE_KEY)")
    group.addoption("--l2-anvil", action="store_true", default=False,
                    help="start an anvil node for the session and run the tests on it")
    group.addoption("--l2-contracts", metavar="DIR", default=None,
                    help="your Solidity, deployable by chain.deploy(name) (default: contracts/ in the rootdir)")
    parser.addini("l2_contracts", "your Solidity sources (like --l2-contracts)", default=None)


# --- Layer 1 --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chain(request) -> Any:
    """The session's Layer 1, with your contracts compiled beside l2's."""
    from l2.errors import L2Error
    from l2.l1.chain import layer1

    config = request.config
    with contextlib.ExitStack() as stack:
        try:
            layer = stack.enter_context(layer1(config.getoption("--l2-rpc-url"), anvil=config.getoption("--l2-anvil")))
            own = _own_contracts(config)
            if own is not None:
                _add_artifacts(layer, own, Path(config.rootpath) / "build")
        except L2Error as exc:
            # No chain, no test can run: one line for the session, as the l2 commands say it, not one error a test.
            pytest.exit(f"l2: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        yield layer


def _own_contracts(config) -> Path | None:
    """The folder of the project's own Solidity, or None: an explicit option must exist, the default may not."""
    from l2.errors import ConfigError
    from l2.l1.compiler import CONTRACTS_DIR

    option = config.getoption("--l2-contracts") or config.getini("l2_contracts")
    if option:
        folder = Path(config.rootpath) / option
        if not folder.is_dir():
            raise ConfigError(f"--l2-contracts {option}: no such folder")
        return folder
    folder = Path(config.rootpath) / "contracts"
    # l2's own checkout has its contracts there: they are compiled already.
    if not folder.is_dir() or folder.resolve() == CONTRACTS_DIR.resolve():
        return None
    return folder


def _add_artifacts(chain: Chain, folder: Path, build_dir: Path) -> None:
    """Compile `folder` and make its contracts deployable and their errors decodable on `chain`."""
    from l2.errors import CompileError
    from l2.l1.compiler import Artifacts, compile_project

    own = compile_project(contracts_dir=folder, build_dir=build_dir)
    base = chain.artifacts
    clash = sorted(set(own.contracts) & set(base.contracts))
    if clash:
        raise CompileError(f"{folder}: contract name(s) {', '.join(clash)} are l2's too; rename yours")
    chain.__dict__["artifacts"] = Artifacts(base.compiler_version, base.settings_hash, base.cache_key,
                                            {**base.contracts, **own.contracts}, base.warnings + own.warnings)
    for derived in ("_error_abis", "_names_by_init_code"):  # cached from the artifacts: computed again
        chain.__dict__.pop(derived, None)


@pytest.fixture(autouse=True)
def l2_isolation(request):
    """Snapshot before each test that uses the chain, revert after it."""
    if "chain" not in request.fixturenames:
        yield
        return
    layer = request.getfixturevalue("chain")
    snapshot = layer.snapshot()
    yield
    layer.revert(snapshot)


@pytest.fixture
def time_travel(chain):
    """`time_travel(seconds)`: mine a block at least that much later."""
    return chain.advance_time


@pytest.fixture
def mine(chain):
    """`mine(blocks=1)`: mine empty blocks."""
    return chain.mine


# --- accounts -------------------------------------------------------------------------------------

class Accounts(dict):
    """Named accounts, by name: `accounts.alice` or `accounts["alice"]`."""

    def __getattr__(self, name: str) -> NamedAccount:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no account named {name!r}: {', '.join(self)}") from None

    @property
    def users(self) -> dict[str, NamedAccount]:
        return {name: a for name, a in self.items() if name not in ("operator", "challenger")}


@pytest.fixture(scope="session")
def accounts(chain) -> Accounts:
    from l2.l1.accounts import cast, unit_for

    return Accounts(cast(chain, 20 * unit_for(chain)))


# --- the designs ----------------------------------------------------------------------------------

@dataclass
class DeployedDesign:
    design: Design
    contracts: dict[str, Any]  # contract name -> web3 contract


@dataclass
class Deployment:
    """l2's deployment plan on the session's chain: the foundation's contracts and every design's."""

    addresses: dict[str, str]
    token: Any  # the TestToken, 1000 TST minted to every user
    designs: dict[str, DeployedDesign] = field(default_factory=dict)
    # A design that cannot be deployed here (a tool it needs is missing): why, raised when a test asks for it.
    unavailable: dict[str, Exception] = field(default_factory=dict)

    def __getitem__(self, name: str) -> DeployedDesign:
        from l2.designs import design

        name = design(name).name  # InputError naming the registered ones
        if name in self.unavailable:
            raise self.unavailable[name]
        return self.designs[name]

    def __iter__(self):
        return iter(self.designs.values())


@pytest.fixture(scope="session")
def designs(chain, accounts, tmp_path_factory) -> Deployment:
    """The foundation's contracts, then each registered design's on top of them, once for the session."""
    from l2.designs import DESIGNS
    from l2.designs.api import TOKEN_UNIT
    from l2.errors import L2Error
    from l2.l1.deploy import FOUNDATION_PLAN, deploy_all, write_manifest

    results, manifest = deploy_all(chain, plan=FOUNDATION_PLAN)
    token = chain.contract("TestToken", manifest["contracts"]["TestToken"]["address"])
    for account in accounts.users.values():
        chain.transact(token.functions.mint(account.address, 1000 * TOKEN_UNIT), accounts.operator)
    # Each design is deployed on its own, the foundation's contracts read back as `unchanged` from this manifest,
    # so that one design whose tools are missing here leaves the others usable.
    foundation = tmp_path_factory.mktemp("l2-deployment") / "foundation.json"
    write_manifest(foundation, manifest)
    deployment = Deployment({r.name: r.record["address"] for r in results}, token)
    for d in DESIGNS:
        try:
            deployed, _ = deploy_all(chain, plan=[*FOUNDATION_PLAN, *d.contracts], previous_path=foundation)
        except L2Error as exc:
            deployment.unavailable[d.name] = exc
            continue
        addresses = {r.name: r.record["address"] for r in deployed}
        deployment.addresses.update(addresses)
        deployment.designs[d.name] = DeployedDesign(
            d, {spec.name: chain.contract(spec.name, addresses[spec.name]) for spec in d.contracts})
    return deployment


class Operators:
    """One design's operators and parties for one test, as `l2 sandbox` starts them (its `SandboxPart`)."""

    def __init__(self, name: str):
        self.name = name
        self.part: SandboxPart | None = None
        self.events: list[str] = []  # everything its services reported, in order

    @property
    def objects(self) -> dict[str, Any]:
        assert self.part is not None
        return self.part.objects

    @property
    def services(self) -> list:
        assert self.part is not None
        return self.part.services

    def __getitem__(self, key: str) -> Any:
        return self.objects[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key in ("part", "name", "events"):
            raise AttributeError(key)
        try:
            return self.objects[key]
        except KeyError:
            raise AttributeError(f"{self.name}'s operators have no {key!r}: {', '.join(self.objects)}") from None

    def step(self) -> list[str]:
        """One round of every service now (posting whatever is pending); what they reported."""
        from l2.runtime.service import run_round

        new = [str(event) for event in run_round(self.services, urgent=True)]
        self.events += new
        return new

    def status(self) -> list[str]:
        assert self.part is not None
        return self.part.status()


@pytest.fixture
def operators(chain, accounts, designs, tmp_path):
    """`operators(name)`: design `name`'s operators and parties, started for this test and closed after it."""
    from l2.designs.api import SandboxEnv
    from l2.l1.accounts import unit_for
    from l2.output import make_console

    started: dict[str, Operators] = {}

    def start(name: str) -> Operators:
        design = designs[name].design
        if design.name in started:
            return started[design.name]
        ops = Operators(design.name)
        workdir = tmp_path / f"l2-{design.name}"
        workdir.mkdir()

        def step() -> None:  # a helper's (claim waits for the operators): what they say is kept in ops.events
            ops.step()

        env = SandboxEnv(chain, workdir, threading.RLock(), designs.addresses, designs.token, accounts.operator,
                         accounts.challenger, accounts.users, unit_for(chain), make_console(), step)
        ops.part = design.sandbox(env)
        started[design.name] = ops
        return ops

    yield start
    with contextlib.ExitStack() as stack:  # each one closed even if another's close fails
        for ops in started.values():
            if ops.part is not None:
                stack.callback(ops.part.close)
