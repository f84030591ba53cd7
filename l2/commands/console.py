"""Interactive Python consoles for `l2 sandbox` and `l2 console`.

IPython or ptpython when installed and a person is at the terminal, the
standard `code` console otherwise. Whichever runs, every statement the user
enters runs inside `turn()`, a context manager the caller supplies: the sandbox
takes its operator lock there (so the background sequencer, verifier and
watchers never act in the middle of a statement) and prints what they did while
the user was typing.

With every console on a terminal: Ctrl-C on an empty prompt asks once, a second
Ctrl-C leaves (as node's REPL does); Ctrl-C on a line of text clears it, and while
a statement runs interrupts the statement only. IPython and ptpython would only
clear the line: a key binding of ours (`second_ctrl_c_leaves`) makes them leave too.

With the standard console:
- When stdin is not a terminal (a pipe, a file) each line read is echoed after
  its prompt, so `l2 sandbox < session.py` prints a transcript.
"""

from __future__ import annotations

import code
import contextlib
import importlib.util
import io
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

from l2.errors import ToolMissingError

SHELLS = ("auto", "ipython", "ptpython", "python")
LEAVE_HINT = "(to leave: Ctrl-C again, Ctrl-D, or exit())"

Turn = Callable[[], AbstractContextManager]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def choose_shell(requested: str = "auto", interactive: bool | None = None) -> str:
    """The console to run: `requested`, or for "auto" IPython, then ptpython, then the standard one.

    Off a terminal "auto" is always the standard console: the others draw their prompts for a person.
    """
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if requested == "auto":
        if interactive:
            for name, module in (("ipython", "IPython"), ("ptpython", "ptpython")):
                if _installed(module):
                    return name
        return "python"
    if requested == "ipython" and not _installed("IPython"):
        raise ToolMissingError("IPython is not installed: pip install ipython (or use --shell python)")
    if requested == "ptpython" and not _installed("ptpython"):
        raise ToolMissingError("ptpython is not installed: pip install ptpython (or use --shell python)")
    return requested


def interact(namespace: dict, banner: str, *, shell: str = "auto", turn: Turn | None = None) -> None:
    """Run a console on `namespace` until the user leaves; SystemExit from `exit(n)` propagates."""
    turn = turn or contextlib.nullcontext
    chosen = choose_shell(shell)
    if chosen == "ipython":
        _ipython(namespace, banner, turn)
    elif chosen == "ptpython":
        _ptpython(namespace, banner, turn)
    else:
        _python(namespace, banner, turn)


# --- the standard console ----------------------------------------------------------------------

class PlainConsole(code.InteractiveConsole):
    def __init__(self, namespace: dict, turn: Turn, echo: bool):
        super().__init__(namespace, filename="<l2>")
        self.turn = turn
        self.echo = echo
        self._interrupted = False

    def runcode(self, code_object) -> None:
        with self.turn():
            super().runcode(code_object)
        sys.stdout.flush()

    def interact(self, banner=None, exitmsg=None) -> None:  # noqa: ARG002 - the caller prints the banner
        """code.InteractiveConsole's loop, except that a Ctrl-C landing between two prompts counts as one at the
        prompt: the stock loop catches it there, prints KeyboardInterrupt and forgets it, so a second Ctrl-C sent
        right after the hint (a script, a quick hand) would ask again instead of leaving."""
        more = False
        while True:
            try:
                try:
                    line = self.raw_input("... " if more else ">>> ")
                except EOFError:
                    self.write("\n")
                    return
                more = self.push(line)
            except KeyboardInterrupt:
                if more or self.buffer:  # half a statement: drop it, as python does
                    self.write("\nKeyboardInterrupt\n")
                    self.resetbuffer()
                    more, self._interrupted = False, False
                elif self._interrupted:
                    self.write("\n\n")
                    return  # the second Ctrl-C in a row on an empty prompt: leave
                else:
                    self._interrupted = True
                    self.write(f"\n{LEAVE_HINT}\n")

    def raw_input(self, prompt: str = "") -> str:
        line = input(prompt)
        self._interrupted = False
        if self.echo:
            print(line, flush=True)
        return line


def _python(namespace: dict, banner: str, turn: Turn) -> None:
    echo = not sys.stdin.isatty()
    if echo and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # keep prompts, output and errors in order in a pipe
    print(banner, flush=True)
    try:
        PlainConsole(namespace, turn, echo).interact()
    except KeyboardInterrupt:  # Ctrl-C pressed again while the last one was being handled: leave all the same
        print(flush=True)


# --- IPython -----------------------------------------------------------------------------------

class SecondCtrlCLeaves:
    """A prompt_toolkit key handler for IPython and ptpython: Ctrl-C on an empty prompt prints the hint the
    first time and leaves (as Ctrl-D does) the second time in a row; on a line of text it clears the line."""

    def __init__(self):
        self.armed = False  # the last key at an empty prompt was Ctrl-C

    def __call__(self, event) -> None:
        from prompt_toolkit.application import run_in_terminal

        buffer = event.current_buffer
        if buffer.text:
            self.armed = False
            buffer.reset()
        elif self.armed:
            event.app.exit(exception=EOFError)
        else:
            self.armed = True
            run_in_terminal(lambda: print(LEAVE_HINT, flush=True))

    def bindings(self):
        from prompt_toolkit.enums import DEFAULT_BUFFER
        from prompt_toolkit.filters import has_focus
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()
        bindings.add("c-c", filter=has_focus(DEFAULT_BUFFER))(self)
        return bindings


def _ipython(namespace: dict, banner: str, turn: Turn) -> None:
    from IPython.terminal.embed import InteractiveShellEmbed
    from prompt_toolkit.key_binding import merge_key_bindings
    from traitlets.config import Config

    leave = SecondCtrlCLeaves()

    class Shell(InteractiveShellEmbed):
        def run_cell(self, *args, **kwargs):
            leave.armed = False
            with turn():
                return super().run_cell(*args, **kwargs)

        def _merge_shortcuts(self, user_shortcuts):
            return merge_key_bindings([super()._merge_shortcuts(user_shortcuts), leave.bindings()])

    config = Config()
    config.TerminalInteractiveShell.simple_prompt = not sys.stdin.isatty()
    config.TerminalInteractiveShell.confirm_exit = False
    config.HistoryManager.enabled = False  # no history file written into the user's profile by a sandbox
    config.InteractiveShell.enable_tip = False
    shell = Shell(config=config, user_ns=namespace, banner1=banner + "\n", exit_msg="")
    shell()


# --- ptpython ----------------------------------------------------------------------------------

def _ptpython(namespace: dict, banner: str, turn: Turn) -> None:
    from prompt_toolkit.filters import has_focus
    from ptpython.repl import embed

    leave = SecondCtrlCLeaves()

    def configure(repl) -> None:
        evaluate = repl.eval

        def eval_in_turn(line: str):
            leave.armed = False
            with turn():
                return evaluate(line)

        repl.eval = eval_in_turn
        repl.confirm_exit = False
        repl.add_key_binding("c-c", filter=has_focus(repl.default_buffer))(leave)

    print(banner, flush=True)
    embed(globals=namespace, locals=namespace, configure=configure, patch_stdout=True)


# --- `l2 console` ------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from l2.l1.chain import add_chain_arguments
    from l2.l1.deploy import add_reuse_arguments

    add_chain_arguments(parser)
    add_reuse_arguments(parser)
    parser.add_argument("--shell", choices=SHELLS, default="auto",
                        help="which console (default: IPython, then ptpython, when installed and on a terminal)")


def run(args) -> int:
    """`l2 console`: the chain, w3, accounts and compiled artifacts (with --reuse, the manifest's contracts);
    `l2 sandbox` adds the protocols."""
    from l2.designs import deployment_plan
    from l2.l1.chain import layer1_for
    from l2.l1.deploy import check_reuse_arguments, reuse_deployment

    check_reuse_arguments(args)
    with layer1_for(args) as chain:
        namespace = {"chain": chain, "w3": chain.w3, "accounts": chain.accounts, "artifacts": chain.artifacts}
        banner = (
            f"l2 console on {chain.describe()}\n"
            "names: chain (deploy, transact, call, snapshot, revert, advance_time, mine), w3, accounts, artifacts"
        )
        if args.reuse:
            notes: list[str] = []
            results = reuse_deployment(chain, deployment_plan(), args.manifest, log=notes.append)
            namespace["contracts"] = {r.name: chain.contract(r.name, r.record["address"]) for r in results}
            banner += ", contracts (by name)\n" + "\n".join(notes)
        try:
            interact(namespace, banner, shell=args.shell)
        except SystemExit as exc:
            return exit_code(exc)
    return 0


def exit_code(exc: SystemExit) -> int:
    """The process exit code `exit(x)` asks for, as python computes it."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1
