"""The wheel carries the contracts: their sources and the artifacts compiled from them (l2/solidity/).

A project that installs l2 then needs neither this repository nor node/solc. The artifacts are
build/artifacts.json, written by `l2 compile` (or any command that compiles); a wheel is built only
from artifacts that record exactly the sources it ships, so it never carries stale bytecode.
Editable installs (`make setup`) skip this: in a checkout the compiler reads contracts/ itself.
"""

import hashlib
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithContracts(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False) or self.dry_run:
            return
        bundle(Path(self.build_lib) / "l2" / "solidity")


def bundle(target: Path) -> None:
    sources = {str(p.relative_to(ROOT)): p for p in sorted((ROOT / "contracts").rglob("*.sol"))}
    if not sources:
        raise SystemExit(f"no Solidity sources under {ROOT / 'contracts'}")
    artifacts_file = ROOT / "build" / "artifacts.json"
    try:
        artifacts = json.loads(artifacts_file.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{artifacts_file} is missing: run `l2 compile` (make compile) before building") from None
    hashes = {path: hashlib.sha256(p.read_text().encode()).hexdigest() for path, p in sources.items()}
    if artifacts.get("sources") != hashes:
        raise SystemExit(f"{artifacts_file} was not compiled from these contracts/: run `l2 compile` "
                         "(make compile) and build again")
    shutil.rmtree(target, ignore_errors=True)
    for path, p in sources.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target / path)
    (target / "artifacts.json").write_text(json.dumps(artifacts))


setup(cmdclass={"build_py": BuildWithContracts})
