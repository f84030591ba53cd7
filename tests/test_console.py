"""The standard console's Ctrl-C rules, driven in-process so that where a signal lands is chosen, not raced."""

import contextlib

import pytest

from l2.commands.console import LEAVE_HINT, PlainConsole


def _console(monkeypatch, inputs, interrupt_prompt=None):
    """A console whose input() replays `inputs` (KeyboardInterrupt stands for Ctrl-C at the prompt); with
    `interrupt_prompt` n, Ctrl-C lands as the n-th prompt is about to be read (after the last output, before
    input() waits), the window a signal sent right after the hint hits."""
    feed = iter(inputs)

    def fake_input(_prompt=""):
        item = next(feed, None)
        if item is None:
            raise AssertionError("the console asked for another line")
        if item is KeyboardInterrupt:
            raise KeyboardInterrupt
        return item

    monkeypatch.setattr("builtins.input", fake_input)
    console = PlainConsole({}, contextlib.nullcontext, echo=False)
    if interrupt_prompt is not None:
        raw_input, calls = console.raw_input, []

        def interrupted_raw_input(prompt=""):
            calls.append(prompt)
            if len(calls) == interrupt_prompt:
                raise KeyboardInterrupt
            return raw_input(prompt)

        monkeypatch.setattr(console, "raw_input", interrupted_raw_input)
    return console


def _printed(capsys) -> str:
    captured = capsys.readouterr()  # the console writes its hints and tracebacks to stderr, as python's does
    return captured.out + captured.err


def test_two_ctrl_c_at_the_prompt_leave(monkeypatch, capsys):
    _console(monkeypatch, [KeyboardInterrupt, KeyboardInterrupt]).interact()
    assert _printed(capsys).count(LEAVE_HINT) == 1


def test_a_second_ctrl_c_landing_between_prompts_leaves_too(monkeypatch, capsys):
    # The stock code.InteractiveConsole catches it there, prints KeyboardInterrupt and asks again: a CI run
    # that sent the second SIGINT as soon as it saw the hint hung on it.
    _console(monkeypatch, [KeyboardInterrupt], interrupt_prompt=2).interact()
    out = _printed(capsys)
    assert out.count(LEAVE_HINT) == 1 and "KeyboardInterrupt" not in out


def test_a_line_between_two_ctrl_c_asks_again(monkeypatch, capsys):
    console = _console(monkeypatch, [KeyboardInterrupt, "x = 1", KeyboardInterrupt, KeyboardInterrupt])
    console.interact()
    assert _printed(capsys).count(LEAVE_HINT) == 2
    assert console.locals["x"] == 1


def test_ctrl_c_in_half_a_statement_drops_it_and_does_not_count(monkeypatch, capsys):
    console = _console(monkeypatch, ["if True:", KeyboardInterrupt, "y = 2", KeyboardInterrupt, KeyboardInterrupt])
    console.interact()
    out = _printed(capsys)
    assert "KeyboardInterrupt" in out and out.count(LEAVE_HINT) == 1
    assert console.locals["y"] == 2


def test_end_of_input_leaves(monkeypatch):
    def eof(_prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    PlainConsole({}, contextlib.nullcontext, echo=False).interact()


@pytest.mark.parametrize("line", ["1/0"])
def test_an_error_in_a_statement_keeps_the_console(monkeypatch, capsys, line):
    _console(monkeypatch, [line, KeyboardInterrupt, KeyboardInterrupt]).interact()
    assert "ZeroDivisionError" in _printed(capsys)
