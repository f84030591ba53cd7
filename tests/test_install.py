"""l2 as a dependency: the wheel, installed in a fresh virtual environment outside the checkout, carries the
contracts (sources and artifacts), runs a sandbox script and the pytest plugin's example project.

The fresh environment gets l2's dependencies from PyPI (about 30 s here); nothing in it points back at this
checkout: the tests run from a folder outside it and check where `l2` is imported from. The example project
compiles its own contract with solc-js, found in the project's node_modules as `npm install solc` would put it
(linked to this checkout's copy: npm's registry is not reachable here); l2's contracts come compiled in the wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from l2.l1.compiler import PROJECT_ROOT, compile_project

EXAMPLE = PROJECT_ROOT / "examples" / "plugin_project"
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "l2", "contracts")
STORY = """\
pay(alice_channel, bob_channel, ETHER // 10)
import l2
print("l2 from", l2.__file__)
print("alice", alice_channel.balance(), "bob", bob_channel.balance())
"""


def _run(args, cwd, env, timeout=300):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _checkout_copy(tmp: Path) -> Path:
    """What a clean checkout holds after `l2 compile`: the sources and build/artifacts.json, nothing else."""
    compile_project()  # build/artifacts.json up to date with contracts/ (a cache hit when nothing changed)
    src = tmp / "src"
    for name in SOURCES:
        origin = PROJECT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, src / name)
    (src / "build").mkdir()
    shutil.copyfile(PROJECT_ROOT / "build" / "artifacts.json", src / "build" / "artifacts.json")
    return src


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _build_wheel(src: Path, dist: Path) -> subprocess.CompletedProcess:
    """`pip wheel` of a source folder or an sdist (setuptools and wheel from PyPI, in pip's build isolation)."""
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                           "-w", str(dist), str(src)], cwd=dist.parent, env=_clean_env(), capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(a fresh venv with the built wheel installed, a project folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("install")
    src, dist, venv = _checkout_copy(tmp), tmp / "dist", tmp / "venv"
    env = _clean_env()
    # The wheel is built from an sdist, as from PyPI: the sdist has to carry the contracts and artifacts too.
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)], src, env)
    sdists = list(dist.glob("l2-*.tar.gz"))
    assert len(sdists) == 1
    built = _build_wheel(sdists[0], dist)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list(dist.glob("l2-*.whl"))
    assert len(wheels) == 1
    _run([sys.executable, "-m", "venv", str(venv)], tmp, env)
    _run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheels[0]),
          "pytest>=8,<10"], tmp, env, timeout=600)
    project = tmp / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", "__pycache__", ".pytest_cache"))
    (project / "node_modules").mkdir()
    (project / "node_modules" / "solc").symlink_to(PROJECT_ROOT / "node_modules" / "solc")
    return venv, project


def test_the_wheel_carries_the_contracts_and_runs_a_sandbox_script_outside_the_checkout(installed):
    venv, project = installed
    (project / "story.py").write_text(STORY)
    env = _clean_env(venv)
    out = _run([str(venv / "bin" / "l2"), "sandbox", "--script", "story.py"], project, env).stdout
    where = out.split("l2 from ", 1)[1].splitlines()[0]
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert not Path(where).resolve().is_relative_to(PROJECT_ROOT.resolve())
    assert "alice 4900000000000000000 bob 5100000000000000000" in out
    bundled = _run([str(venv / "bin" / "python"), "-c",
                    "from l2.l1.compiler import IN_CHECKOUT, CONTRACTS_DIR, compile_project\n"
                    "print(IN_CHECKOUT, len(list(CONTRACTS_DIR.rglob('*.sol'))), len(compile_project().contracts))"],
                   project, env).stdout.split()
    assert bundled == ["False", str(len(list((PROJECT_ROOT / "contracts").rglob("*.sol")))),
                       str(len(compile_project().contracts))]


def test_the_plugins_example_project_passes_with_the_installed_wheel(installed):
    venv, project = installed
    result = _run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-q", "--trace-config"], project,
                  _clean_env(venv))
    assert "6 passed" in result.stdout, result.stdout[-3000:]
    loaded = re.search(r"<module 'l2\.testing\.plugin' from '([^']+)'>", result.stdout)
    assert loaded and Path(loaded[1]).resolve().is_relative_to(venv.resolve()), result.stdout[:3000]
    assert (project / "build" / "artifacts.json").exists()  # the project's own contract, compiled in its folder


def test_a_wheel_is_not_built_from_artifacts_of_other_sources(tmp_path):
    src = _checkout_copy(tmp_path)
    token = src / "contracts" / "test" / "TestToken.sol"
    token.write_text(token.read_text() + "\n// changed after the last compile\n")
    built = _build_wheel(src, tmp_path / "dist")
    assert built.returncode != 0
    assert "build/artifacts.json was not compiled from these contracts/: run `l2 compile`" in built.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


def test_the_readmes_plugin_test_is_the_example_projects():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Using l2 as a dependency\n"):]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.strip() in (EXAMPLE / "tests" / "test_timelock.py").read_text()
    assert "[docs/testing.md](docs/testing.md)" in section and (PROJECT_ROOT / "docs" / "testing.md").exists()
