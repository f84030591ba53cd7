"""`l2 sandbox`: Layer 1, the project's contracts and running Layer-2 operators, in a Python console.

    l2 sandbox [--rpc-url URL [--reuse [--manifest FILE]] | --anvil] [--script FILE] [--shell ipython|ptpython|python]

What a session starts, in order, and takes down again however it ends (exit(),
Ctrl-D, Ctrl-C twice, SIGTERM, an error), anvil included:

1. Layer 1: the embedded py-evm chain, the node at --rpc-url, or an anvil from
   node_modules (--anvil), stopped on the way out.
2. The contracts of the deployment plan (the foundation's and every design's), fresh every session; with
   --reuse those of the node's manifest (`l2 deploy`), once their recorded code is found on chain.
3. Named accounts: `operator` (the deployer, the rollup's sequencer), `challenger` (the rollup
   challenger's account) and the users alice, bob, carol and dave, each minted test tokens. A dev
   node has them already; on any other node they are derived from the deployer's key
   (`derive_account`) and topped up from it.
4. Each registered design's part (`Design.sandbox`): its objects, its services (the operators),
   its banner and status lines. Payment channels open a watched channel between alice and bob; the
   optimistic rollup starts a sequencer, a challenger and a wallet per user, all deposited.
5. The operators' thread: every `tick` seconds one round of every service (`run_round`): the
   sequencer picks up L1 deposits and posts a batch when one is full or old enough, the challenger
   re-executes new batches and proves fraud, the watchers defend the channel.

The console and the operators take turns under one lock: a statement you type
runs whole, with no operator acting in the middle of it; what they did while you
were typing is printed before your next statement runs. `step()` runs them at
once (and posts whatever is pending), so a script decides exactly when they act.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

from rich.table import Table

from l2.commands.console import SHELLS, exit_code, interact
from l2.commands.demo import STORY_CLOCK
from l2.designs import DESIGNS, deployment_plan
from l2.designs.api import TOKEN_UNIT, SandboxEnv, SandboxPart
from l2.errors import InputError, ScriptError
from l2.l1.accounts import DEV_UNIT, NamedAccount, cast, unit_for
from l2.l1.chain import Chain, add_chain_arguments, layer1_for
from l2.l1.deploy import add_reuse_arguments, check_reuse_arguments, contracts_for
from l2.output import ETHER, eth, make_console
from l2.runtime.service import run_round


def check_options(batch_time: float, max_batch: int, tick: float) -> None:
    if not batch_time > 0 or not tick > 0:
        raise InputError("--batch-time and --tick must be positive numbers of seconds")
    if not 1 <= max_batch <= 1024:
        raise InputError(f"--max-batch must be between 1 and 1024, got {max_batch}")


class Sandbox:
    """Everything `l2 sandbox` starts, for a console, a script or a test (`with Sandbox.running(chain)`)."""

    def __init__(self, chain: Chain, workdir: Path, *, batch_time: float = 5.0, max_batch: int = 256,
                 tick: float = 1.0, progress=lambda step: None, reuse: bool = False, manifest: Path | None = None):
        check_options(batch_time, max_batch, tick)
        self.reuse = reuse  # the contracts of the node's manifest (or `manifest`) instead of a fresh deployment
        self.manifest = manifest
        self.notes: list[str] = []  # what the start had to say about the manifest, for the banner
        self.chain = chain
        self.workdir = workdir
        self.batch_time = batch_time
        self.max_batch = max_batch
        self.tick = tick
        self.progress = progress
        self.lock = threading.RLock()  # the console's statements and the operators' rounds take turns
        self.console = make_console()
        self.events: list[str] = []
        self._shown = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.parts: list[SandboxPart] = []
        self.unit = unit_for(chain)

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def running(cls, chain: Chain, **options):
        """A started sandbox for the `with` block, its folder and operators gone after it."""
        with tempfile.TemporaryDirectory(prefix="l2-sandbox-") as tmp:
            sandbox = cls(chain, Path(tmp), **options)
            try:
                sandbox.start()
                yield sandbox
            finally:
                sandbox.stop()

    def start(self) -> None:
        chain = self.chain
        if chain.is_embedded and chain.now() < STORY_CLOCK:
            # As the demo does: ahead of the wall clock py-evm stamps each block parent + 1 s, so a session
            # (the README's transcript among them) replays to the gas: timestamps reach calldata.
            chain.advance_time(STORY_CLOCK - chain.now())
        self.progress("checking the manifest's contracts" if self.reuse else "deploying the Layer-1 contracts")
        results = contracts_for(chain, deployment_plan(), self.reuse, self.manifest, log=self.notes.append)
        self.addresses = {r.name: r.record["address"] for r in results}
        self.token = chain.contract("TestToken", self.addresses["TestToken"])

        self.progress("funding the named accounts")
        reserve = sum(d.operator_reserve(chain, self.addresses) for d in DESIGNS)
        named = cast(chain, 20 * self.unit, reserve=reserve)
        self.operator, self.challenger = named.pop("operator"), named.pop("challenger")
        self.users: dict[str, NamedAccount] = named
        for account in self.users.values():
            chain.transact(self.token.functions.mint(account.address, 1000 * TOKEN_UNIT), self.operator)

        env = SandboxEnv(chain, self.workdir, self.lock, self.addresses, self.token, self.operator, self.challenger,
                         self.users, self.unit, self.console, self.step, self.batch_time, self.max_batch)
        for design in DESIGNS:
            self.progress(f"starting the {design.title}")
            self.parts.append(design.sandbox(env))
        self.services = [service for part in self.parts for service in part.services]
        self.events.clear()  # the start is summed up by the banner
        self._thread = threading.Thread(target=self._run, name="l2-sandbox-operators", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the operators, then close their databases; safe to call twice or after a failed start."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        with self.lock:
            for part in self.parts:
                part.close()
            self.parts.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            with self.lock:
                if self._stop.is_set():
                    return
                self._round(urgent=False)

    # --- turns -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def turn(self):
        """Hold the operators off while a statement runs; first show what they did meanwhile."""
        with self.lock:
            self.show_events()
            yield

    def show_events(self) -> None:
        for line in self.events[self._shown:]:
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)
        self._shown = len(self.events)

    # --- the operators -----------------------------------------------------------------------

    def step(self) -> None:
        """Run the operators once, now: pick up L1 deposits, post everything pending as batches,
        check them (and prove fraud), let the channel watchers react; print what they did."""
        with self.lock:
            self.show_events()
            self._round(urgent=True)
            self.show_events()

    def _round(self, urgent: bool) -> None:
        """One round of every service; a failure is reported as an event and the others still run."""
        self.events += [str(event) for event in run_round(self.services, urgent)]

    # --- helpers for the console ---------------------------------------------------------------

    def advance_time(self, seconds: int) -> None:
        """Mine a block `seconds` later, then let the operators react (settle, post) at once."""
        with self.lock:
            self.chain.advance_time(seconds)
            self.step()

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            self.chain.mine(blocks)

    def status(self) -> None:
        """Balances on Layer 1 and in every design; each design's own status lines."""
        with self.lock:
            accounts = Table(title="accounts", title_justify="left")
            columns = ["name", "address", "L1 ETH", "L1 TST", *(c for part in self.parts for c in part.columns)]
            for column in columns:
                accounts.add_column(column, justify="left" if column in ("name", "address") else "right")
            for name, account in {"operator": self.operator, "challenger": self.challenger, **self.users}.items():
                cells = [c for part in self.parts for c in part.cells(name, account.address)]
                accounts.add_row(
                    name, account.address, eth(self.chain.balance(account.address)),
                    f"{self.chain.call(self.token.functions.balanceOf(account.address)) / TOKEN_UNIT:,.2f}", *cells)
            self.console.print(accounts)
            for part in self.parts:
                for line in part.status():
                    self.console.print(line, highlight=False)

    # --- what the console sees -----------------------------------------------------------------

    def namespace(self) -> dict:
        """The names a console or script starts with."""
        names = {
            "sandbox": self, "chain": self.chain, "w3": self.chain.w3, "accounts": self.chain.accounts,
            "operator": self.operator, "challenger_account": self.challenger, **self.users,
            "token": self.token,
            "contracts": {name: self.chain.contract(name, address) for name, address in self.addresses.items()},
            "step": self.step, "status": self.status, "advance_time": self.advance_time, "mine": self.mine,
            "eth": eth, "ETHER": ETHER,
        }
        for part in self.parts:
            names.update(part.objects)
        return names

    def banner(self) -> str:
        chain = self.chain
        anvil = getattr(chain, "anvil", None)
        lines = [f"l2 sandbox on {chain.describe()}"]
        if anvil is not None:
            lines.append(f"  anvil      {anvil.url} (pid {anvil.pid}), stopped when you leave")
        if self.unit != DEV_UNIT:
            lines.append(f"  amounts    scaled down: this node has no dev accounts, so the deployer's key pays for "
                         f"everything and the sandbox counts in {eth(self.unit)} where a dev chain counts in "
                         f"{eth(DEV_UNIT, 0)} (sandbox.unit)")
        lines += [("  manifest   " if i == 0 else "             ") + note for i, note in enumerate(self.notes)]
        contracts = [f"token {self.token.address} (TestToken)", *(c for part in self.parts for c in part.contracts)]
        lines += [("  contracts  " if i == 0 else "             ") + line for i, line in enumerate(contracts)]
        lines += [
            f"  accounts   operator {self.operator.address} (the deployer; the rollup's sequencer)",
            f"             challenger {self.challenger.address} (challenger_account: the rollup challenger's)",
        ]
        lines += [f"             {name:<10} {account.address}" for name, account in self.users.items()]
        for part in self.parts:
            lines += part.banner
        helpers = ["step()", "status()", "advance_time(s)", "mine(n)", "eth(wei)",
                   *(h for part in self.parts for h in part.helpers)]
        lines += [
            "  helpers    " + "  ".join(helpers),
            "  also       chain, w3, accounts, contracts, token, sandbox, ETHER",
            "The operators run on their own while you type; step() runs them now. Leave with exit() or Ctrl-D.",
        ]
        return "\n".join(lines)


# --- `l2 sandbox` ------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    add_chain_arguments(parser)
    add_reuse_arguments(parser)
    parser.add_argument("--script", metavar="FILE", type=Path,
                        help="run this Python file in the sandbox's namespace, then leave")
    parser.add_argument("--shell", choices=SHELLS, default="auto",
                        help="which console (default: IPython, then ptpython, when installed and on a terminal)")
    parser.add_argument("--batch-time", type=float, default=5.0, metavar="SECONDS",
                        help="the sequencer posts pending transactions after this long (default 5)")
    parser.add_argument("--max-batch", type=int, default=256, metavar="N",
                        help="or as soon as this many are pending (default 256)")
    parser.add_argument("--tick", type=float, default=1.0, metavar="SECONDS",
                        help="how often the operators run while the console waits (default 1)")


def run(args) -> int:
    script = load_script(args.script) if args.script is not None else None  # a typo costs no start-up
    check_options(args.batch_time, args.max_batch, args.tick)
    check_reuse_arguments(args)
    console = make_console(sys.stderr)
    with _leave_on_signals(), layer1_for(args) as chain, console.status("starting the sandbox…") as status:
        options = dict(batch_time=args.batch_time, max_batch=args.max_batch, tick=args.tick,
                       progress=lambda step: status.update(f"{step}…"), reuse=args.reuse, manifest=args.manifest)
        with Sandbox.running(chain, **options) as sandbox:
            status.stop()
            try:
                if script is not None:
                    return run_script(sandbox, script)
                interact(sandbox.namespace(), sandbox.banner(), shell=args.shell, turn=sandbox.turn)
            except SystemExit as exc:
                return exit_code(exc)
    return 0


@dataclass(frozen=True)
class Script:
    path: Path
    code: CodeType  # the compiled module


def load_script(path: Path) -> Script:
    """Read and compile a `--script` file; InputError if it cannot be read, ScriptError on a syntax error."""
    if not path.is_file():
        raise InputError(f"no script at {path}")
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the script {path}: {exc}") from None
    try:
        return Script(path, compile(source, str(path), "exec"))
    except SyntaxError as exc:
        raise ScriptError(f"{path}:{exc.lineno}: SyntaxError: {exc.msg}") from None


def run_script(sandbox: Sandbox, script: Script) -> int:
    """Run the script as __main__ in the sandbox's namespace, in one turn; its errors become one ScriptError."""
    namespace = {**sandbox.namespace(), "__name__": "__main__", "__file__": str(script.path)}
    with sandbox.turn():
        try:
            exec(script.code, namespace)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the script's own error, reported at its line
            raise ScriptError(f"{_script_location(exc, script.path)}: {type(exc).__name__}: {exc}") from exc
    return 0


def _script_location(exc: BaseException, path: Path) -> str:
    """`file:line` of the innermost frame of the script in `exc`'s traceback."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    return f"{path}:{line}" if line is not None else str(path)


@contextlib.contextmanager
def _leave_on_signals():
    """SIGTERM and SIGHUP leave like exit() does, so the operators, databases and anvil stop in order."""
    def leave(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread: leave the handlers alone
            previous[signum] = signal.signal(signum, leave)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
