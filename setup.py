"""The wheel carries the contracts: their sources and the artifacts compiled from them (l2/solidity/).

A project that installs l2 then needs neither this repository nor node/solc. The artifacts are
build/artifacts.json, written by `l2 compile` (or any command that compiles); a wheel is built only
from artifacts that record exactly the sources it ships, so it never carries stale bytecode. An sdist
carries them too (setuptools leaves build/ out of it, so they are copied in here), so a wheel builds
from it without a compiler. Editable installs (`make setup`) skip all this: in a checkout the compiler
reads contracts/ itself.
"""

import hashlib
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
ARTIFACTS = Path("build") / "artifacts.json"


def sources() -> dict:
    found = {str(p.relative_to(ROOT)): p for p in sorted((ROOT / "contracts").rglob("*.sol"))}
    if not found:
        raise SystemExit(f"no Solidity sources under {ROOT / 'contracts'}")
    return found


def checked_artifacts() -> dict:
    """build/artifacts.json, if it was compiled from exactly the sources under contracts/."""
    path = ROOT / ARTIFACTS
    try:
        artifacts = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{path} is missing: run `l2 compile` (make compile) before building") from None
    hashes = {name: hashlib.sha256(p.read_text().encode()).hexdigest() for name, p in sources().items()}
    if artifacts.get("sources") != hashes:
        raise SystemExit(f"{path} was not compiled from these contracts/: run `l2 compile` (make compile) "
                         "and build again")
    return artifacts


class BuildWithContracts(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False) or self.dry_run:
            return
        artifacts = checked_artifacts()
        target = Path(self.build_lib) / "l2" / "solidity"
        shutil.rmtree(target, ignore_errors=True)
        for name, p in sources().items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target / name)
        (target / "artifacts.json").write_text(json.dumps(artifacts))


class SdistWithArtifacts(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = Path(base_dir) / ARTIFACTS
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(checked_artifacts()))


setup(cmdclass={"build_py": BuildWithContracts, "sdist": SdistWithArtifacts})
