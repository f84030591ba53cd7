"""`l2 sandbox`: Layer 1, the contracts and running Layer-2 operators behind a console.

In process first (the `Sandbox` on the session chain, its operators' thread held off
so each test decides when they act), then the real command as a subprocess: a
script, a console fed by a pipe, a console on a pseudo-terminal (IPython, ptpython),
anvil started and stopped, Ctrl-C, SIGTERM, and every error as one line.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from l2.commands.sandbox import Sandbox
from l2.l1.accounts import USERS
from l2.l1.anvil import free_port, start_anvil
from l2.l1.compiler import PROJECT_ROOT
from l2.output import ETHER

L2 = [sys.executable, "-m", "l2"]
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev key


def l2(*args, stdin: str | None = None, env: dict | None = None, timeout: float = 180):
    return subprocess.run(
        [*L2, *args], input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"  # a zombie has exited
    except FileNotFoundError:
        return True


# --- in process ---------------------------------------------------------------------------------

@pytest.fixture
def sandbox(chain):
    """A started sandbox whose operators act only when a test calls step() (the thread's tick is an hour)."""
    with Sandbox.running(chain, tick=3600) as started:
        yield started


def test_start_leaves_everything_ready(sandbox, chain):
    names = sandbox.namespace()
    for name in ("w3", "chain", "operator", "challenger_account", *USERS, "token", "registry", "rollup",
                 "alice_channel", "bob_channel", "sequencer", "challenger", "watchers", "advance_time", "mine", "step",
                 "status", "pay", "claim"):
        assert name in names, name
    assert {f"{user}_l2" for user in USERS} <= set(names)
    unit = sandbox.unit
    for user in USERS:
        wallet = names[f"{user}_l2"]
        assert (wallet.balance(), wallet.balance(token=1)) == (10 * unit, 100 * 10**18)
    assert names["alice_channel"].balance() == names["bob_channel"].balance() == 5 * unit
    assert chain.balance(names["registry"].address) == 10 * unit
    # batch #0 carried the deposits, and the independent challenger rebuilt the same state from Layer 1
    rollup = names["rollup"]
    assert rollup.batch_count() == 1
    assert names["challenger"].state.root == names["sequencer"].tip.root == rollup.tip_root()
    assert rollup.bond(sandbox.operator.address) == rollup.fn.minBond().call()
    assert "alice_l2, bob_l2, carol_l2, dave_l2" in sandbox.banner()


def test_step_posts_what_is_pending_and_the_challenger_checks_it(sandbox, capsys):
    names = sandbox.namespace()
    sequencer, rollup = names["sequencer"], names["rollup"]
    names["alice_l2"].transfer(names["bob"], ETHER // 100)
    names["alice_l2"].transfer(names["carol_l2"], ETHER // 100)  # a wallet works as a recipient too
    assert sequencer.pending_count() == 2 and rollup.batch_count() == 1
    sandbox.step()
    out = capsys.readouterr().out
    assert re.search(r"\[sequencer\] posted batch #1: 2 transfers in 1 commitment, [\d,]+ gas", out)
    assert ("[challenger] batch #1 (2 transfers in 1 commitment) replayed from Layer-1 data: every root and "
            "signature checks") in out
    assert sequencer.pending_count() == 0 and rollup.batch_count() == 2
    assert names["bob_l2"].balance() == 10 * sandbox.unit + ETHER // 100
    sandbox.step()
    assert capsys.readouterr().out == ""  # nothing new, nothing said


def test_stale_close_is_answered_by_the_partners_watcher_then_settled(sandbox, chain, capsys):
    names = sandbox.namespace()
    alice, bob = names["alice_channel"], names["bob_channel"]
    pay = names["pay"]
    pay(alice, bob, ETHER // 10)
    stale = alice.latest
    pay(alice, bob, ETHER // 10)
    alice.close(stale)
    sandbox.step()
    out = capsys.readouterr().out
    assert "[bob's watcher] alice closed the channel with nonce 1" in out
    assert "[bob's watcher] answered with the newer state, nonce 2" in out
    assert "alice's watcher" not in out  # her own watcher does not undo her cheat
    bob_before = chain.balance(names["bob"].address)
    sandbox.advance_time(alice.params.challenge_period)
    assert re.search(r"\[(alice|bob)'s watcher\] settled the channel after the challenge period: "
                     r"alice got 4\.8000 ETH, "
                     r"bob 5\.2000 ETH", capsys.readouterr().out)
    assert chain.balance(names["registry"].address) == 0
    # the watchers' settle paid bob 5.2 ETH (the newest state); only alice's watcher or bob's paid gas for it
    gained = chain.balance(names["bob"].address) - bob_before
    assert 5 * ETHER + ETHER // 5 - 10**16 < gained <= 5 * ETHER + ETHER // 5


def test_fraudulent_batch_is_proven_slashed_and_the_sequencer_recovers(sandbox, chain, capsys):
    names = sandbox.namespace()
    rollup = names["rollup"]
    names["sequencer"].fault = "print_money"  # its root credits its own fee account 1 ETH it did not earn
    names["alice_l2"].transfer(names["bob"], ETHER // 100)
    challenger_before = chain.balance(sandbox.challenger.address)  # the challenger's account
    sandbox.step()
    out = capsys.readouterr().out
    assert "[challenger] batch #1 is fraudulent: commitment 0: the committed root is not the replayed one" in out
    assert re.search(r"\[challenger\] proved it with the transition proof in one transaction \([\d,]+ gas\): "
                     r"the batch and any later ones reverted, the proposer slashed", out)
    bond = rollup.fn.minBond().call()
    assert chain.balance(sandbox.challenger.address) - challenger_before > bond // 2 - 10**16  # half the bond
    assert rollup.fn.totalBurned().call() == bond // 2
    sandbox.step()
    out = capsys.readouterr().out
    assert "[sequencer] bond topped up to the minimum" in out
    assert ("[sequencer] re-synced with Layer 1 (its tip moved): 1 reverted transfer(s) admitted again, 0 dropped "
            "as no longer valid") in out
    assert "[challenger] batch #1 (1 transfer in 1 commitment) replayed from Layer-1 data: every root" in out
    assert names["bob_l2"].balance() == 10 * sandbox.unit + ETHER // 100
    assert names["challenger"].state.root == names["sequencer"].tip.root == rollup.tip_root()


def test_withdrawal_is_claimed_on_layer1_once_final(sandbox, chain, capsys):
    names = sandbox.namespace()
    names["bob_l2"].withdraw(ETHER)
    sandbox.step()
    claim = names["claim"]
    claim(names["bob"])
    assert "batch #1 is not final yet" in capsys.readouterr().out
    before = chain.balance(names["bob"].address)
    sandbox.advance_time(names["rollup"].challenge_window)
    claim(names["bob"])  # sent by bob himself: he pays the gas
    assert re.search(r"claimed 1\.0000 ETH from batch #1 for bob \([\d,]+ gas\)", capsys.readouterr().out)
    assert ETHER - 10**15 < chain.balance(names["bob"].address) - before < ETHER
    claim(names["bob"])
    assert capsys.readouterr().out.strip() == "nothing to claim"


def test_status_shows_layer1_rollup_and_channel_balances(sandbox, capsys):
    names = sandbox.namespace()
    names["pay"](names["alice_channel"], names["bob_channel"], ETHER // 4)
    sandbox.status()
    out = capsys.readouterr().out
    alice_row = next(line for line in out.splitlines() if " alice " in line)
    assert "900.00" in alice_row and "10.0000 ETH" in alice_row and "4.7500 ETH" in alice_row
    assert "rollup: 1 batch on Layer 1 (0 final)" in out
    assert "channel alice-bob: open, nonce 1: alice 4.7500 ETH, bob 5.2500 ETH" in out


def test_operators_act_between_statements_never_during_one(chain, capsys):
    with Sandbox.running(chain, tick=0.05, batch_time=0.2) as sandbox:
        names = sandbox.namespace()
        wallet, rollup = names["alice_l2"], names["rollup"]
        with sandbox.turn():  # a statement: the operators wait for it, however long it takes
            wallet.transfer(sandbox.users["bob"], 10**15)
            time.sleep(1.0)
            assert rollup.batch_count() == 1
        deadline = time.monotonic() + 20
        while rollup.batch_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the console is idle: the operators' thread posts the batch by age
        assert rollup.batch_count() == 2
        with sandbox.turn():  # the next statement first hears what happened meanwhile
            pass
        out = capsys.readouterr().out
        assert "[sequencer] posted batch #1: 1 transfer in 1 commitment" in out
        assert "every root and signature checks" in out
        thread = sandbox._thread
    assert not thread.is_alive() and sandbox.parts == []  # stopped and closed on the way out
    with pytest.raises(Exception, match="closed"):
        names["sequencer"].db.execute("SELECT COUNT(*) FROM transfers")  # its journal is closed


# --- the command, as a subprocess ---------------------------------------------------------------

SCRIPT = """\
pay(alice_channel, bob_channel, ETHER // 10)
alice_l2.transfer(bob, ETHER // 100)
step()
print("channel:", alice_channel.balance(), bob_channel.balance())
print("rollup:", alice_l2.balance(), bob_l2.balance(), rollup.batch_count())
print("anvil:", chain.anvil.pid if chain.anvil else None)
"""


def _check_script_output(out: str, unit: int = ETHER) -> int | None:
    assert "[sequencer] posted batch #1: 1 transfer in 1 commitment" in out
    assert "[challenger] batch #1 (1 transfer in 1 commitment) replayed from Layer-1 data: every root" in out
    assert f"channel: {5 * unit - ETHER // 10} {5 * unit + ETHER // 10}" in out
    assert f"rollup: {10 * unit - ETHER // 100} {10 * unit + ETHER // 100} 2" in out
    pid = re.search(r"anvil: (\w+)", out).group(1)
    return None if pid == "None" else int(pid)


def test_script_pays_in_the_channel_and_transfers_on_the_rollup(tmp_path):
    script = tmp_path / "story.py"
    script.write_text(SCRIPT)
    result = l2("sandbox", "--script", str(script))
    assert result.returncode == 0, result.stderr
    assert _check_script_output(result.stdout) is None
    assert result.stderr == ""


def test_script_bridges_pays_and_exits_on_the_sidechain(tmp_path):
    script = tmp_path / "sidechain.py"
    script.write_text(
        "before = chain.balance(dave.address)\n"
        "sc_deposit('carol', ETHER)\n"
        "sc_pay('carol', 'dave', ETHER // 4)\n"
        "sc_exit('dave', ETHER // 4)\n"
        "print('dave on Layer 1:', chain.balance(dave.address) - before, 'locked:', sidechain_l1.locked())\n")
    result = l2("sandbox", "--script", str(script))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # carol has the sidechain's gas money from genesis (1 ETH) and the 1 ETH she bridged
    assert re.search(r"^carol has 2\.0000 ETH on the sidechain \(\d+\.\d s after the deposit\)$", out, re.M), out
    assert re.search(r"^committed in sidechain block \d+: carol paid dave 0\.2500 ETH$", out, re.M), out
    assert re.search(r"^burn \d+ proven against checkpoint \d+: 0\.2500 ETH paid to dave on Layer 1 \([\d,]+ gas\)$",
                     out, re.M), out
    gained, locked = map(int, re.search(r"^dave on Layer 1: (-?\d+) locked: (\d+)$", out, re.M).groups())
    assert 10**18 // 4 - 10**16 < gained < 10**18 // 4  # paid, less the gas of his exit
    assert locked == 10**18 - 10**18 // 4


def test_script_on_anvil_and_anvil_is_stopped_after(tmp_path):
    script = tmp_path / "story.py"
    script.write_text(SCRIPT)
    result = l2("sandbox", "--anvil", "--script", str(script))
    assert result.returncode == 0, result.stderr
    pid = _check_script_output(result.stdout)
    assert pid is not None and _gone(pid)


def test_script_exit_code_passes_through(tmp_path):
    script = tmp_path / "exit.py"
    script.write_text("import sys\nsys.exit(4)\n")
    assert l2("sandbox", "--script", str(script)).returncode == 4


def test_sandbox_on_a_node_without_dev_accounts_funds_accounts_derived_from_the_key(tmp_path):
    """Another chain id: not a dev node, so only L2_PRIVATE_KEY's account; the rest are derived and topped up."""
    script = tmp_path / "story.py"
    script.write_text(
        "unit = sandbox.unit\n"
        "pay(alice_channel, bob_channel, unit)\n"
        "alice_l2.transfer(bob, unit)\n"
        "step()\n"
        "print('accounts', [a.address for a in (challenger_account, alice, bob, carol, dave)])\n"
        "print('funded', all(chain.balance(a.address) > 0 for a in (challenger_account, alice, bob, carol, dave)))\n"
        "print('rollup', bob_l2.balance() == 11 * unit, 'channel', bob_channel.balance() == 6 * unit)\n"
    )
    with start_anvil(extra_args=("--chain-id", "4242")) as url:
        first = l2("sandbox", "--rpc-url", url, "--script", str(script), env={"L2_PRIVATE_KEY": ANVIL_KEY_0})
        # The second time at the console: its banner says that amounts are scaled down, and shows them.
        again = l2("sandbox", "--rpc-url", url, stdin=script.read_text(), env={"L2_PRIVATE_KEY": ANVIL_KEY_0})
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    banner = again.stdout[:again.stdout.index(">>> ")]
    assert ("  amounts    scaled down: this node has no dev accounts, so the deployer's key pays for everything and "
            "the sandbox counts in 0.0010 ETH where a dev chain counts in 1 ETH (sandbox.unit)") in banner
    assert "alice_channel, bob_channel: the two Parties of alice-bob, 0.005 ETH each" in banner
    assert not re.search(r"[^.\d]0 ETH", banner), banner  # every amount legible, none printed as 0 ETH
    assert "funded True" in first.stdout and "rollup True channel True" in first.stdout
    dev_addresses = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's dev account 1: not used here
    assert dev_addresses not in first.stdout
    accounts = re.search(r"^accounts (\[.*)", first.stdout, re.M).group(1)
    assert accounts == re.search(r"^accounts (\[.*)", again.stdout, re.M).group(1)  # the same key, the same accounts


def test_console_fed_by_a_pipe_reads_as_a_transcript_and_survives_errors():
    session = (
        "pay(alice_channel, bob_channel, ETHER // 2)\n"
        "1 / 0\n"
        "for who in (alice_channel, bob_channel):\n"
        "    print(eth(who.balance()))\n"
        "\n"
        "exit(3)\n"
        "print('never')\n"
    )
    result = l2("sandbox", stdin=session)
    assert result.returncode == 3
    out = result.stdout
    assert out.startswith("l2 sandbox on embedded py-evm chain")
    assert ">>> pay(alice_channel, bob_channel, ETHER // 2)\n>>> 1 / 0\n" in out
    assert "ZeroDivisionError: division by zero" in result.stderr
    assert "... " in out and "4.5000 ETH\n5.5000 ETH" in out
    assert "never" not in out


class Terminal:
    """The sandbox on a pseudo-terminal, as a person at a keyboard has it."""

    def __init__(self, *args):
        master, slave = pty.openpty()
        self.master = master
        self.process = subprocess.Popen([*L2, "sandbox", *args], stdin=slave, stdout=slave, stderr=slave,
                                        cwd=PROJECT_ROOT, close_fds=True, env={**os.environ, "TERM": "xterm"})
        os.close(slave)
        self.output = b""

    @property
    def text(self) -> bytes:
        """What the screen shows, without the colour and cursor escapes."""
        return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", self.output)

    def read_until(self, pattern: bytes, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return bool(re.search(pattern, self.text))
                if b"\x1b[6n" in self.output:  # prompt_toolkit asks where the cursor is: answer it
                    os.write(self.master, b"\x1b[1;1R")
                    self.output = self.output.replace(b"\x1b[6n", b"")
        return False

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self, timeout: float = 60) -> int:
        """Wait for the process to leave, answering the terminal's questions meanwhile."""
        try:
            deadline = time.monotonic() + timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                self.read_until(rb"(?!)", timeout=0.2)
            return self.process.wait(1)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)


@pytest.mark.parametrize("shell, prompt", [("auto", rb"In \[1\]"), ("ptpython", rb">>>")])
def test_console_on_a_terminal_ipython_by_default_or_ptpython(shell, prompt):
    terminal = Terminal("--shell", shell)
    try:
        assert terminal.read_until(prompt), terminal.text[-2000:]
        terminal.type("alice_l2.transfer(bob, 12340)")  # 1234 x 10: a 16-bit float carries it
        terminal.type("step()")
        matched = terminal.read_until(rb"replayed from Layer-1 data: every root and signature checks")
        assert matched, terminal.text[-2000:]
        next_prompt = rb"every root and signature checks[\s\S]*(In \[3\]|>>>)"
        assert terminal.read_until(next_prompt), terminal.text[-2000:]
        terminal.type("exit()")
    finally:
        code = terminal.close()
    assert code == 0


@pytest.mark.parametrize("shell, prompt", [("ipython", rb"In \[1\]"), ("ptpython", rb">>>")])
def test_two_ctrl_c_at_an_empty_prompt_leave_ipython_and_ptpython_as_the_readme_says(shell, prompt):
    """Their own Ctrl-C only clears the line. Here a line of text is cleared and does not count; then the first
    Ctrl-C at the empty prompt shows the hint, and the second leaves."""
    terminal = Terminal("--shell", shell)
    try:
        assert terminal.read_until(prompt), terminal.text[-2000:]
        os.write(terminal.master, b"12345")
        assert terminal.read_until(rb"12345"), terminal.text[-2000:]  # the line, echoed
        os.write(terminal.master, b"\x03")  # clears the line
        time.sleep(0.5)
        os.write(terminal.master, b"\x03")
        assert terminal.read_until(rb"to leave: Ctrl-C again"), terminal.text[-2000:]
        # As a hand would: prompt_toolkit prints the hint with the terminal in its cooked mode for a moment, where
        # a Ctrl-C is the terminal's SIGINT rather than a key for the console.
        time.sleep(0.5)
        assert terminal.process.poll() is None
        os.write(terminal.master, b"\x03")
    finally:
        code = terminal.close()
    assert code == 0
    assert terminal.text.count(b"to leave: Ctrl-C again") == 1


class PipedSession:
    """The sandbox with stdin kept open, so a test can leave it idle, interrupt it or stop it."""

    def __init__(self, *args):
        self.process = subprocess.Popen([*L2, "sandbox", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        os.set_blocking(self.process.stdout.fileno(), False)
        self.output = ""

    def read_until(self, pattern: str, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.process.stdout.read()
            if chunk:
                self.output += chunk.decode()
            if re.search(pattern, self.output):
                return True
            time.sleep(0.05)
        return False

    def send(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def anvil_pid(self) -> int:
        return int(re.search(r"anvil +http://127\.0\.0\.1:\d+ \(pid (\d+)\)", self.output).group(1))

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def test_idle_console_lets_the_operators_work_and_two_ctrl_c_leave_with_anvil_stopped():
    session = PipedSession("--anvil", "--batch-time", "0.5", "--tick", "0.1")
    assert session.read_until(r">>> $"), session.output
    anvil = session.anvil_pid()
    session.send("alice_l2.transfer(bob, 10**15)")
    time.sleep(3)  # idle at the prompt: the operators post and verify on their own
    session.send("print('batches', rollup.batch_count())")
    assert session.read_until(r"batches \d"), session.output
    assert re.search(r"\[sequencer\] posted batch #1: 1 transfer in 1 commitment.*\n.*every root and signature checks\n"
                     r"batches 2", session.output)
    session.process.send_signal(signal.SIGINT)
    assert session.read_until(r"Ctrl-C again"), session.output
    session.process.send_signal(signal.SIGINT)
    assert session.wait() == 0
    assert _gone(anvil)


def test_sigterm_stops_the_operators_and_anvil():
    session = PipedSession("--anvil")
    assert session.read_until(r">>> $"), session.output
    anvil = session.anvil_pid()
    session.process.send_signal(signal.SIGTERM)
    assert session.wait() == 128 + signal.SIGTERM
    assert _gone(anvil)


def test_ctrl_c_during_start_stops_anvil_and_exits_130():
    session = PipedSession("--anvil")
    deadline = time.monotonic() + 30
    pids: set[int] = set()
    while not pids and time.monotonic() < deadline:  # anvil is up, the sandbox still deploying
        # -x anvil: imports run `file` (pycryptodome asks platform.architecture()), which is not anvil
        pids = {int(p) for p in subprocess.run(["pgrep", "-x", "anvil", "-P", str(session.process.pid)],
                                               capture_output=True, text=True).stdout.split()}
        time.sleep(0.02)
    session.process.send_signal(signal.SIGINT)
    code = session.wait()
    assert session.read_until(r"error: interrupted", 5), session.output
    assert code == 130, session.output
    assert all(_gone(pid) for pid in pids)


def test_ipython_reads_a_pipe_too():
    result = l2("sandbox", "--shell", "ipython", stdin="alice_l2.transfer(bob, 5)\nstep()\n")
    assert result.returncode == 0, result.stderr
    assert "In [2]: [sequencer] posted batch #1: 1 transfer in 1 commitment" in result.stdout


# --- errors: one line on stderr, exit code 1 (2 for usage), nothing left running ----------------

@pytest.mark.parametrize(
    "args, env, code, message",
    [
        (["sandbox", "--rpc-url", "http://127.0.0.1:{port}"], {}, 1,
         r"^error: cannot reach a JSON-RPC node at http://127\.0\.0\.1:\d+: connection refused"),
        (["sandbox", "--anvil"], {"ANVIL_BINARY": "/nonexistent/anvil"}, 1,
         r"^error: anvil is not installed at /nonexistent/anvil"),
        (["sandbox", "--rpc-url", "127.0.0.1:8545"], {}, 1, r"^error: RPC URL must start with http"),
        (["sandbox", "--script", "/nonexistent/story.py"], {}, 1, r"^error: no script at /nonexistent/story\.py$"),
        (["sandbox", "--max-batch", "0"], {}, 1, r"^error: --max-batch must be between 1 and 1024, got 0$"),
        (["sandbox", "--anvil-port", "8545"], {}, 1, r"^error: --anvil-port needs --anvil$"),
        (["sandbox", "--anvil", "--rpc-url", "http://127.0.0.1:8545"], {}, 2,
         r"^l2 sandbox: error: argument --rpc-url: not allowed with argument --anvil"),
        (["sandbox", "--shell", "bpython"], {}, 2, r"^l2 sandbox: error: argument --shell: invalid choice"),
        (["sandbox", "--bogus"], {}, 2, r"^l2: error: unrecognized arguments: --bogus"),
        (["sandbox", "--tick", "soon"], {}, 2, r"^l2 sandbox: error: argument --tick: invalid float value"),
        (["sandbox-x"], {}, 2, r"^l2: error: argument COMMAND: invalid choice: 'sandbox-x'"),
        ([], {}, 2, r"^l2: error: the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(args, env, code, message):
    args = [a.replace("{port}", str(free_port())) for a in args]
    result = l2(*args, env=env)
    assert result.returncode == code, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "source, line",
    [
        ("x = 1\nraise ValueError('boom')\n", r":2: ValueError: boom$"),
        ("def f(:\n", r":1: SyntaxError: "),
        ("pay(alice_channel, bob_channel, 10**30)\n", r":1: ChannelBalanceTooLow: cannot pay"),
        ("alice_l2.transfer(bob, 10**30)\n", r":1: InsufficientBalance: "),  # 1e30: a 16-bit float carries it
    ],
)
def test_a_script_that_raises_is_one_line_naming_its_line(tmp_path, source, line):
    script = tmp_path / "story.py"
    script.write_text(source)
    result = l2("sandbox", "--script", str(script))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {script}:") and re.search(line, result.stderr.strip()), result.stderr


def test_debug_shows_the_traceback(tmp_path):
    script = tmp_path / "story.py"
    script.write_text("x = 1\nraise ValueError('boom')\n")
    result = l2("--debug", "sandbox", "--script", str(script))
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr and f'File "{script}", line 2' in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {script}:2: ValueError: boom"
