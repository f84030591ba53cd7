"""The README shows real output: its sandbox transcript is replayed and compared line by line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from l2.l1.compiler import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def excerpts(lines: list[str]) -> list[list[str]]:
    """The runs of lines between `...` markers."""
    runs, run = [], []
    for line in lines:
        if line == "...":
            runs.append(run)
            run = []
        else:
            run.append(line)
    runs.append(run)
    return [r for r in runs if r]


def assert_shown_in_order(expected: list[str], output: str) -> None:
    """Each run of the README's lines is a run of the output's lines (trailing spaces aside), in order."""
    got = [steady(line.rstrip()) for line in output.splitlines()]
    at = 0
    for run in excerpts([steady(line) for line in expected]):
        for start in range(at, len(got) - len(run) + 1):
            if got[start:start + len(run)] == run:
                at = start + len(run)
                break
        else:
            raise AssertionError("not in the output, or not in this order:\n" + "\n".join(run))


def transcript(section: str) -> tuple[dict[str, str], list[str], list[str]]:
    """(the environment it sets, the command's arguments, the transcript's lines) of the first
    `$ [NAME=value ...] .venv/bin/l2 ...` block in `section`."""
    text = README.read_text()
    body = text[text.index(f"## {section}\n"):]
    block = re.search(r"```text\n\$ ((?:\w+=\S+ )*)\.venv/bin/l2 (.*?)\n(.*?)```", body, re.S)
    env = dict(assignment.split("=", 1) for assignment in block.group(1).split())
    return env, block.group(2).split(), block.group(3).splitlines()


# What no run repeats, masked on both sides before comparing: ports the system picks, and what the sidechain's
# validators do on their own clocks in their own processes (their keys, heights, how many checkpoints they have
# submitted by then, and so the Layer-1 gas and fees of the sidechain's row, of the totals and of the operator,
# who funds the validators' gas), and how long a proof took (the zk-rollup's payments are final after it).
# Everything else must match to the character.
VOLATILE = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    # The first proof of a process loads the proving key (in the tests, whichever command asks the shared
    # prover first), and says so.
    (re.compile(r" \(after loading the proving key: \d+\.\d s\)"), ""),
    (re.compile(r"\b\d+\.\d+ s\b"), "T s"),  # a duration on the wall clock (a proof, a deposit's wait)
    (re.compile(r"(<receipt 0x[0-9a-f]+…[0-9a-f]+ block )\d+"), r"\1N"),  # the validators' checkpoints take blocks too
    (re.compile(r"^committed in sidechain block \d+:"), "committed in sidechain block N:"),
    (re.compile(r"^validator (\d+) 0x[0-9a-fA-F]{40} (.*): (height \d+|down)$"), r"validator \1 KEY \2: HEIGHT"),
    (re.compile(r"^sidechain: \d+ checkpoints on Layer 1, up to block \d+;"), "sidechain: N checkpoints on Layer 1;"),
)
WALL_CLOCK_ROWS = re.compile(r"^(│ (sidechain|total|operator|fees paid for gas) |conserved: |│ zk-rollup .* s │ )")


def steady(line: str) -> str:
    for pattern, mask in VOLATILE:
        line = pattern.sub(mask, line)
    if WALL_CLOCK_ROWS.match(line):
        line = re.sub(r" +", " ", re.sub(r"\d[\d,.]*", "#", line))  # a shorter number is padded wider
    return line


def run_transcript(env: dict[str, str], args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """The command as the README shows it, with the environment it shows (which must be this session's: the
    suite proves with the tests' circuit, `L2_ZK_SHAPE`, for the commands it starts)."""
    for name, value in env.items():
        here = os.environ.get(name)
        assert here == value, f"the README runs with {name}={value}, the tests with {name}={here}"
    return subprocess.run([sys.executable, "-m", "l2", *args], text=True, cwd=PROJECT_ROOT,
                          env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, **kwargs)


def test_sandbox_transcript_is_what_the_sandbox_prints():
    env, args, expected = transcript("Sandbox")
    statements = [line[4:] for line in expected if line.startswith((">>> ", "... "))]
    result = run_transcript(env, args, input="\n".join(statements) + "\n", stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:]
    got = [steady(line.rstrip()) for line in result.stdout.splitlines()]
    assert got == [steady(line) for line in expected]


def test_demo_summary_is_what_make_demo_prints():
    env, args, expected = transcript("Demo")
    result = run_transcript(env, args, capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)


def test_gas_report_tables_are_what_the_gas_report_prints(gas_report_run):
    result, _ = gas_report_run
    env, args, expected = transcript("Gas report")
    assert all(os.environ.get(name) == value for name, value in env.items())
    assert args == ["gas-report"] and result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)


def test_compare_table_is_what_make_compare_prints():
    env, args, expected = transcript("Compare")
    result = run_transcript(env, args, capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)


def _section_block(section: str, language: str) -> str:
    text = README.read_text()
    body = text[text.index(f"### {section}\n"):]
    return re.search(rf"```{language}\n(.*?)```", body, re.S).group(1)


def test_the_deploy_example_runs_as_written_with_a_python_outside_the_virtual_environment(anvil_chain, anvil_url,
                                                                                        tmp_path):
    """`python` here is the interpreter the virtual environment was made from: it has no web3."""
    example = _section_block("Deploying to a node", "sh")
    assert "python scripts/deploy.py --rpc-url http://127.0.0.1:8545" in example
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys._base_executable)
    assert subprocess.run([bin_dir / "python", "-c", "import web3"], capture_output=True).returncode != 0
    key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev key 0
    script = example.replace("0x...", key).replace("http://127.0.0.1:8545", anvil_url)
    genesis = bytes(anvil_chain.w3.eth.get_block(0)["hash"]).hex()
    manifest = PROJECT_ROOT / "deployments" / f"31337-{genesis[:10]}.json"  # this session's anvil only
    existed = manifest.parent.exists()
    try:
        result = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                                timeout=300, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ["HOME"]})
        assert result.returncode == 0, result.stderr
        assert f"manifest {manifest}" in result.stdout
        assert json.loads(manifest.read_text())["genesisHash"] == "0x" + genesis
    finally:
        manifest.unlink(missing_ok=True)
        if not existed and manifest.parent.exists() and not any(manifest.parent.iterdir()):
            manifest.parent.rmdir()


def test_the_python_example_runs_as_written():
    example = _section_block("Using it from Python", "python")
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    chain = namespace["chain"]
    assert chain.call(namespace["token"].functions.balanceOf(chain.accounts[1].address)) == 10**18


def test_licence_is_mit_as_pyproject_says_and_the_circuit_keeps_gpl():
    import tomllib

    assert tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "MIT"}
    assert (PROJECT_ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert "GNU GENERAL PUBLIC LICENSE\n                       Version 3" in \
        (PROJECT_ROOT / "circuits" / "zk" / "LICENSE").read_text()


def _up_line(line: str) -> str | None:
    """A line of `l2 sidechain up` with what no run repeats masked (None: a checkpoint line, as many as time
    allowed); ^C is the terminal's echo of the Ctrl-C, not output."""
    if re.fullmatch(r"checkpoint \d+ on Layer 1: sidechain blocks \d+\.\.\d+", line):
        return None
    line = steady(line.removeprefix("^C"))
    line = re.sub(r"logs in /\S+", "logs in DIR", line)
    line = re.sub(r"^  validator (\d+) 0x[0-9a-fA-F]{40} ", r"  validator \1 KEY ", line)
    return re.sub(r"at sidechain height \d+$", "at sidechain height H", line)


def test_sidechain_up_and_the_web3_session_against_it_run_as_written():
    text = README.read_text()
    body = text[text.index("## Sidechain\n"):]
    shown = re.search(r"```text\n\$ \.venv/bin/l2 (.*?)\n(.*?)```", body, re.S)
    args, expected = shown.group(1).split(), shown.group(2).splitlines()
    session = re.search(r"```python\n(.*?)```", body, re.S).group(1)
    up = subprocess.Popen([sys.executable, "-m", "l2", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=PROJECT_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                          start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not lines or not lines[-1].startswith("running:"):
            assert time.monotonic() < deadline and up.poll() is None, "\n".join(lines)
            lines.append(up.stdout.readline().rstrip("\n"))
        l1_url = re.search(r"Layer-1 JSON-RPC (http://\S+)\)", "\n".join(lines)).group(1)
        validator = re.search(r"validator 0 0x[0-9a-fA-F]{40} (http://\S+)", "\n".join(lines)).group(1)
        session = re.sub(r'L1_URL = "[^"]*"', f'L1_URL = "{l1_url}"', session)
        session = re.sub(r'SIDECHAIN_URL = "[^"]*"', f'SIDECHAIN_URL = "{validator}"', session)
        exec(compile(session, "README.md", "exec"), {})  # its own asserts: bridged, paid, committed
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    assert up.returncode == 0, rest
    got = [masked for line in [*lines, *rest.splitlines()] if (masked := _up_line(line.rstrip())) is not None]
    assert got == [masked for line in expected if (masked := _up_line(line)) is not None]
