"""`l2 sandbox`: Layer 1, the project's contracts and running Layer-2 operators, in a Python console.

    l2 sandbox [--rpc-url URL | --anvil] [--script FILE] [--shell ipython|ptpython|python]

What a session starts, in order, and takes down again however it ends (exit(),
Ctrl-D, Ctrl-C twice, SIGTERM, an error), anvil included:

1. Layer 1: the embedded py-evm chain, the node at --rpc-url, or an anvil from
   node_modules (--anvil), stopped on the way out.
2. The contracts of the deployment plan, fresh every session; the test token
   registered on the rollup as token 1.
3. Named accounts: `operator` (deployer, the rollup's sequencer), `challenger`
   (the verifier's account) and the users alice, bob, carol and dave. A dev node
   has them already; on any other node they are derived from the deployer's key
   (`derive_account`) and topped up from it.
4. The rollup: a Sequencer (its SQLite log in the session folder) with its bond,
   an independent Challenger, and a Wallet per user; every user deposits ETH and
   tokens, and batch #0 carries the deposits.
5. A channel between alice and bob, both ends durable in SQLite, each watched by
   a ChannelWatcher that answers a stale close and settles after the period.
6. The operators' thread: every `tick` seconds one `step()`: the sequencer picks
   up L1 deposits and posts a batch when one is full or old enough, the verifier
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

from rich.table import Table

from l2.l1.accounts import NamedAccount, named_accounts, unit_for
from l2.l1.chain import Chain, add_chain_arguments, layer1_for
from l2.designs.channels.party import STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B, STATUS_OPEN, Party, pay
from l2.designs.channels.storage import ChannelStore
from l2.designs.channels.watcher import ChannelWatcher
from l2.l1.deploy import deploy_all
from l2.errors import InputError, L2Error, ScriptError
from l2.output import ETHER, eth, gas, make_console
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.errors import BatchDataUnavailable
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.wallet import Wallet
from l2.commands.console import SHELLS, exit_code, interact

USERS = ("alice", "bob", "carol", "dave")
TOKEN_ID = 1  # the test token's id on the rollup (0 is ETH)
TOKEN_UNIT = 10**18
CHANNEL_PERIOD = 60  # seconds; at least the registry's minimum


@dataclass(frozen=True)
class Amounts:
    """What the sandbox hands out, scaled to the chain (`unit`): generous on a dev chain, small on a real node."""

    unit: int
    token_mint: int = 1000 * TOKEN_UNIT
    token_deposit: int = 100 * TOKEN_UNIT

    @property
    def l1_minimum(self) -> int:
        """Each named account's L1 ETH is topped up to this on a node without dev accounts."""
        return 20 * self.unit

    @property
    def rollup_deposit(self) -> int:
        return 10 * self.unit

    @property
    def channel_deposit(self) -> int:
        return 5 * self.unit


def check_options(batch_time: float, max_batch: int, tick: float) -> None:
    if not batch_time > 0 or not tick > 0:
        raise InputError("--batch-time and --tick must be positive numbers of seconds")
    if not 1 <= max_batch <= 1024:
        raise InputError(f"--max-batch must be between 1 and 1024, got {max_batch}")


class Sandbox:
    """Everything `l2 sandbox` starts, for a console, a script or a test (`with Sandbox.running(chain)`)."""

    def __init__(self, chain: Chain, workdir: Path, *, batch_time: float = 5.0, max_batch: int = 256,
                 tick: float = 1.0, progress=lambda step: None):
        check_options(batch_time, max_batch, tick)
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
        self._verified: set[bytes] = set()  # L1 transactions of the batches the verifier has checked
        self._stores: list[ChannelStore] = []
        self.sequencer: Sequencer | None = None
        self.amounts = Amounts(unit_for(chain))

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
        self.progress("deploying the Layer-1 contracts")
        results, _ = deploy_all(chain)
        self.addresses = {r.name: r.record["address"] for r in results}
        self.token = chain.contract("TestToken", self.addresses["TestToken"])
        self.registry = chain.contract("ChannelRegistry", self.addresses["ChannelRegistry"])
        self.rollup = RollupClient(chain, self.addresses["OptimisticRollup"])

        self.progress("funding the named accounts")
        self.operator = NamedAccount("operator", chain.accounts[0])
        named = named_accounts(chain, ("challenger", *USERS), self.amounts.l1_minimum,
                               reserve=self.rollup.fn.minBond().call())
        self.challenger = named.pop("challenger")
        self.users: dict[str, NamedAccount] = named
        for account in self.users.values():
            chain.transact(self.token.functions.mint(account.address, self.amounts.token_mint), self.operator)
        if self.rollup.fn.tokenCount().call() <= TOKEN_ID:
            self.rollup.register_token(self.operator, self.token.address)

        self.progress("starting the rollup's sequencer and verifier")
        self.sequencer = Sequencer(self.rollup, self.operator, self.workdir / "sequencer.db",
                                   max_batch=self.max_batch, max_age=self.batch_time)
        self.sequencer.ensure_bond()
        self.verifier = Challenger(self.rollup, self.challenger)
        self.wallets = {name: Wallet(account, self.rollup, self.sequencer) for name, account in self.users.items()}
        for wallet in self.wallets.values():
            wallet.deposit(self.amounts.rollup_deposit)
            wallet.deposit(self.amounts.token_deposit, token=TOKEN_ID)
        self.sequencer.sync_queue()
        self.sequencer.post_batch()
        self.verifier.sync()
        self._verified.update(v.posted.tx_hash for v in self.verifier.verified)

        self.progress("opening a channel between alice and bob")
        period = max(CHANNEL_PERIOD, self.registry.functions.minChallengePeriod().call())
        alice, bob = self.users["alice"], self.users["bob"]
        deposit = self.amounts.channel_deposit
        self.alice_channel, _ = Party.open(chain, self.registry, alice, bob.address, challenge_period=period,
                                           deposit=deposit, store=self._store("alice"))
        self.bob_channel = Party.join(chain, self.registry, bob, self.alice_channel.params, store=self._store("bob"))
        self.bob_channel.deposit(deposit)
        self.alice_channel.refresh_funding()
        self.watchers = {
            "alice": ChannelWatcher(self.alice_channel, lock=self.lock),
            "bob": ChannelWatcher(self.bob_channel, lock=self.lock),
        }
        self.events.clear()  # the start is summed up by the banner
        self._thread = threading.Thread(target=self._run, name="l2-sandbox-operators", daemon=True)
        self._thread.start()

    def _store(self, name: str) -> ChannelStore:
        store = ChannelStore(self.workdir / f"{name}-channels.db")
        self._stores.append(store)
        return store

    def stop(self) -> None:
        """Stop the operators, then close their databases; safe to call twice or after a failed start."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        with self.lock:
            if self.sequencer is not None:
                self.sequencer.close()
                self.sequencer = None
            for store in self._stores:
                store.close()
            self._stores.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            with self.lock:
                if self._stop.is_set():
                    return
                self._round(post_now=False)

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

    def _event(self, who: str, text: str) -> None:
        self.events.append(f"[{who}] {text}")

    # --- the operators -----------------------------------------------------------------------

    def step(self) -> None:
        """Run the operators once, now: pick up L1 deposits, post everything pending as batches,
        verify (and prove fraud), let the channel watchers react; print what they did."""
        with self.lock:
            self.show_events()
            self._round(post_now=True)
            self.show_events()

    def _round(self, post_now: bool) -> None:
        """One round of every operator; a failure is reported as an event and the others still run."""
        self._guarded("sequencer", lambda: self._sequence(post_now))
        self._guarded("verifier", self._verify)
        for name, watcher in self.watchers.items():
            self._guarded(f"{name}'s watcher", lambda w=watcher, n=name: self._watch(n, w))

    def _guarded(self, who: str, action) -> None:
        try:
            action()
        except L2Error as exc:
            self._event(who, f"error: {exc}")
        except Exception as exc:  # noqa: BLE001 - the operators' thread must outlive any one failure
            self._event(who, f"error: {type(exc).__name__}: {exc}")

    def _sequence(self, post_now: bool) -> None:
        seq = self.sequencer
        picked = seq.sync_queue()
        if picked:
            self._event("sequencer", f"picked up {picked} Layer-1 queue entr{'y' if picked == 1 else 'ies'}")
        seen = seq.recoveries()[-1]["recovery"] if seq.recoveries() else 0
        try:
            seq.recover()
        finally:
            for r in seq.recoveries(after=seen):
                gone = len(r["reverted"])
                self._event("sequencer", f"re-synced with Layer 1 ({gone} batch{'es' if gone != 1 else ''} of its "
                            f"own reverted there): {r['requeued']} transaction(s) queued again, {r['dropped']} "
                            "dropped as no longer valid")
        while True:
            pending = seq.pending_count()
            receipt = seq.post_batch() if post_now else seq.tick()
            if receipt is None:
                return
            (posted,) = self.chain.events(receipt, self.rollup.contract, "BatchSubmitted")
            self._event("sequencer", f"posted batch #{posted.index}: {posted.txCount} transaction"
                        f"{'s' if posted.txCount != 1 else ''}, {gas(receipt.gasUsed)} gas")
            if not post_now or seq.pending_count() in (0, pending):
                return

    def _verify(self) -> None:
        try:
            frauds = self.verifier.sync()
        except BatchDataUnavailable as exc:
            self._event("verifier", f"CANNOT CHECK the rollup: {exc} (nothing built on it can be trusted; "
                        "it tries again every round)")
            return
        for fraud in frauds:
            self._event("verifier", f"batch #{fraud.batch_index} is fraudulent: {fraud.reason}")
            if fraud.receipt is None:
                self._event("verifier", f"could not challenge it: {fraud.error}")
                continue
            # The commitment's gas is left out: its hash's zero bytes make it vary by a few gas run to run.
            self._event("verifier", f"committed to a proof, then proved it on Layer 1 in one transaction "
                        f"({gas(fraud.receipt.gasUsed)} gas): "
                        f"batch #{fraud.batch_index} and any later ones reverted, the proposer's bond slashed "
                        "(half to the challenger, half burned)")
            self.sequencer.ensure_bond()
            self._event("sequencer", "bond topped up again after the slash")
        for verified in self.verifier.verified:
            if verified.posted.tx_hash not in self._verified:
                self._verified.add(verified.posted.tx_hash)
                self._event("verifier", f"batch #{verified.posted.header.index} re-executed from Layer-1 data: "
                            "state root matches")

    def _watch(self, name: str, watcher: ChannelWatcher) -> None:
        seen = len(watcher.closes)
        actions = watcher.poll()
        for close in watcher.closes[seen:]:
            closer = "alice" if close.closer == self.users["alice"].address else "bob"
            if closer != name:
                self._event(f"{name}'s watcher", f"{closer} closed the channel with nonce {close.nonce}")
        for action, value in actions:
            if action == "updated":
                self._event(f"{name}'s watcher", f"answered with the newer state, nonce {value}")
            elif action == "settled":
                (settled, *_) = self.registry.events.ChannelSettled().get_logs(
                    from_block=watcher.next_block - 1, argument_filters={"channelId": watcher.party.channel_id})
                self._event(f"{name}'s watcher", f"settled the channel after the challenge period: alice got "
                            f"{eth(settled.args.payoutA)}, bob {eth(settled.args.payoutB)} ({gas(value)} gas)")

    # --- helpers for the console ---------------------------------------------------------------

    def advance_time(self, seconds: int) -> None:
        """Mine a block `seconds` later, then let the operators react (settle, post) at once."""
        with self.lock:
            self.chain.advance_time(seconds)
            self.step()

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            self.chain.mine(blocks)

    def claim(self, who) -> None:
        """Claim on Layer 1 every final, unclaimed rollup withdrawal paid to `who` (an account or an address)."""
        address = getattr(who, "address", who)
        with self.lock:
            self.step()
            sender = next((a for a in self.users.values() if a.address == address), self.challenger)
            claimed = 0
            for w in self.verifier.claimables(address):
                if not self.verifier.is_claimed(w):
                    if not self.verifier.is_final(w.batch_index):
                        self.console.print(f"batch #{w.batch_index} is not final yet: its challenge window ends "
                                           f"{self.rollup.challenge_window} s after it was posted", highlight=False)
                        continue
                    receipt = self.verifier.claim(sender, w)
                    claimed += 1
                    what = eth(w.amount) if w.token == 0 else f"{w.amount / TOKEN_UNIT:,.2f} TST"
                    self.console.print(f"claimed {what} from batch #{w.batch_index} for {_name_or(self, address)} "
                                       f"({gas(receipt.gasUsed)} gas)", highlight=False)
            if not claimed:
                self.console.print("nothing to claim", highlight=False)

    def status(self) -> None:
        """Balances on Layer 1, on the rollup and in the channel; the rollup's batches; the channel's state."""
        with self.lock:
            state = self.sequencer.state
            accounts = Table(title="accounts", title_justify="left")
            for column in ("name", "address", "L1 ETH", "L1 TST", "rollup ETH", "rollup TST", "channel"):
                accounts.add_column(column, justify="left" if column in ("name", "address") else "right")
            parties = {"alice": self.alice_channel, "bob": self.bob_channel}
            channel_live = self.alice_channel.onchain_state()[0][3] != 0  # open or closing, not settled
            for name, account in {"operator": self.operator, "challenger": self.challenger, **self.users}.items():
                index = state.index_of(account.address)
                balances = state.account(index).balances if index is not None else (0,) * 4
                accounts.add_row(
                    name, account.address, eth(self.chain.balance(account.address)),
                    f"{self.chain.call(self.token.functions.balanceOf(account.address)) / TOKEN_UNIT:,.2f}",
                    eth(balances[0]) if index is not None else "-",
                    f"{balances[TOKEN_ID] / TOKEN_UNIT:,.2f}" if index is not None else "-",
                    eth(parties[name].balance()) if name in parties and channel_live else "",
                )
            self.console.print(accounts)
            batches, _head, _length, _last = self.rollup.counters()
            final = sum(self.verifier.is_final(i) for i in range(len(self.verifier.verified)))
            self.console.print(
                f"rollup: {batches} batch{'es' if batches != 1 else ''} on Layer 1 ({final} final), "
                f"{self.sequencer.pending_count()} transaction(s) waiting for the next batch, "
                f"verifier: {len(self.verifier.verified)} checked, {len(self.verifier.frauds)} fraud(s) proven; "
                f"operator bond {eth(self.rollup.fn.bonds(self.operator.address).call())}",
                highlight=False,
            )
            self.console.print(f"channel alice-bob: {self._channel_state()}", highlight=False)

    def _channel_state(self) -> str:
        party = self.alice_channel
        channel, _ = party.onchain_state()
        status, closing_nonce = channel[3], channel[6]
        where = {STATUS_OPEN: "open", STATUS_CLOSED_BY_A: "closing (alice closed)",
                 STATUS_CLOSED_BY_B: "closing (bob closed)"}.get(status, "settled")
        if status == STATUS_OPEN:
            return (f"{where}, nonce {party.nonce}: alice {eth(party.balance())}, "
                    f"bob {eth(party.partner_balance)}")
        if status in (STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B):
            return f"{where} with nonce {closing_nonce}; latest co-signed nonce {party.nonce}"
        return where

    # --- what the console sees -----------------------------------------------------------------

    def namespace(self) -> dict:
        """The names a console or script starts with."""
        names = {
            "sandbox": self, "chain": self.chain, "w3": self.chain.w3, "accounts": self.chain.accounts,
            "operator": self.operator, "challenger": self.challenger, **self.users,
            "token": self.token, "registry": self.registry, "rollup": self.rollup,
            "contracts": {"TestToken": self.token, "ChannelRegistry": self.registry, "OptimisticRollup": self.rollup.contract},
            "alice_channel": self.alice_channel, "bob_channel": self.bob_channel,
            "sequencer": self.sequencer, "verifier": self.verifier, "watchers": self.watchers,
            "pay": pay, "step": self.step, "status": self.status, "advance_time": self.advance_time,
            "mine": self.mine, "claim": self.claim, "eth": eth, "ETHER": ETHER,
        }
        names.update({f"{name}_l2": wallet for name, wallet in self.wallets.items()})
        return names

    def banner(self) -> str:
        chain = self.chain
        a = self.amounts
        anvil = getattr(chain, "anvil", None)
        lines = [f"l2 sandbox on {chain.describe()}"]
        if anvil is not None:
            lines.append(f"  anvil      {anvil.url} (pid {anvil.pid}), stopped when you leave")
        lines += [
            f"  contracts  token {self.token.address} (TestToken, rollup token {TOKEN_ID})",
            f"             registry {self.registry.address} (ChannelRegistry)",
            f"             rollup {self.rollup.address} (OptimisticRollup, challenge window {self.rollup.challenge_window} s)",
            f"  accounts   operator {self.operator.address} (deployer and sequencer, "
            f"bond {eth(self.rollup.fn.bonds(self.operator.address).call(), 0)})",
            f"             challenger {self.challenger.address} (the verifier's)",
        ]
        lines += [f"             {name:<10} {account.address}" for name, account in self.users.items()]
        lines += [
            f"  rollup     alice_l2, bob_l2, carol_l2, dave_l2: Wallets, {eth(a.rollup_deposit, 0)} and "
            f"{a.token_deposit // TOKEN_UNIT} TST each",
            f"             sequencer (a batch every {self.batch_time:g} s or {self.max_batch} transactions), verifier",
            f"  channel    alice_channel, bob_channel: the two Parties of alice-bob, {eth(a.channel_deposit, 0)} each",
            f"             challenge period {self.alice_channel.params.challenge_period} s, both watched",
            "  helpers    pay(payer, receiver, wei)  step()  status()  advance_time(s)  mine(n)  claim(who)  eth(wei)",
            "  also       chain, w3, accounts, contracts, watchers, sandbox, ETHER",
            "The operators run on their own while you type; step() runs them now. Leave with exit() or Ctrl-D.",
        ]
        return "\n".join(lines)


def _name_or(sandbox: Sandbox, address: str) -> str:
    everyone = {"operator": sandbox.operator, "challenger": sandbox.challenger, **sandbox.users}
    return next((name for name, a in everyone.items() if a.address == address), address)


# --- `l2 sandbox` ------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    add_chain_arguments(parser)
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
    console = make_console(sys.stderr)
    with _leave_on_signals(), layer1_for(args) as chain, console.status("starting the sandbox…") as status:
        options = dict(batch_time=args.batch_time, max_batch=args.max_batch, tick=args.tick,
                       progress=lambda step: status.update(f"{step}…"))
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
    code: object  # the compiled module


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
