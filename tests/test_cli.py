"""The `l2` command: one-line errors and the plain console."""

import re
import subprocess
import sys

from l2.l1.compiler import CONTRACTS_DIR, PROJECT_ROOT


def test_cli_error_is_one_line_and_exit_code_1():
    from l2.l1.anvil import free_port

    result = subprocess.run(
        [sys.executable, "-m", "l2", "demo", "--rpc-url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: cannot reach a JSON-RPC node")
    assert len(result.stderr.strip().splitlines()) == 1


def test_console_has_the_project_loaded():
    script = (
        "token = chain.deploy('TestToken', 'Console', 'CON')\n"
        "chain.transact(token.functions.mint(accounts[1].address, 5), accounts[0])\n"
        "print('minted', chain.call(token.functions.balanceOf(accounts[1].address)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "l2", "console"],
        input=script, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "minted 5" in result.stdout
    # Off a terminal the console echoes each statement after its prompt: the output reads as a transcript.
    assert result.stdout.startswith("l2 console on embedded py-evm chain")
    assert ">>> print('minted'" in result.stdout




def _l2(*args):
    return subprocess.run([sys.executable, "-m", "l2", *args], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=300)


def test_compile_builds_every_contract_without_warnings():
    result = _l2("compile")
    assert result.returncode == 0, result.stderr
    declared = sum(len(re.findall(r"^(?:abstract )?(?:contract|library|interface) \w+", path.read_text(),
                                  re.M)) for path in CONTRACTS_DIR.rglob("*.sol"))
    assert result.stdout.startswith(f"compiled {declared} contracts with solc 0.8.30")
    assert "warning" not in result.stdout


def test_deploy_mirrors_the_deploy_script(tmp_path):
    out = tmp_path / "manifest.json"
    result = _l2("deploy", "--out", str(out))
    assert result.returncode == 0, result.stderr
    from l2.designs import deployment_plan

    plan = {spec.name for spec in deployment_plan()}
    assert f"{len(plan)} deployed, 0 unchanged; manifest" in result.stdout
    import json

    assert set(json.loads(out.read_text())["contracts"]) == plan
    assert {"TestToken", "ChannelRegistry", "OptimisticRollup", "Adjudicator"} <= plan


def test_help_lists_every_command():
    result = _l2("--help")
    assert result.returncode == 0
    for command in ("sandbox", "demo", "gas-report", "bench", "compile", "deploy", "console"):
        assert command in result.stdout


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_code_130(monkeypatch, capsys):
    """Building the parser imports web3 and py-evm (most of a second): a Ctrl-C then is still `interrupted`."""
    from l2.commands import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["demo"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_version_is_the_packages():
    import tomllib

    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = _l2("--version")
    assert (result.returncode, result.stdout) == (0, f"l2 {version}\n")
