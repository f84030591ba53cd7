"""The README shows real output: its sandbox transcript is replayed and compared line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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
    got = [line.rstrip() for line in output.splitlines()]
    at = 0
    for run in excerpts(expected):
        for start in range(at, len(got) - len(run) + 1):
            if got[start:start + len(run)] == run:
                at = start + len(run)
                break
        else:
            raise AssertionError("not in the output, or not in this order:\n" + "\n".join(run))


def transcript(section: str) -> tuple[list[str], list[str]]:
    """(the command's arguments, the transcript's lines) of the first `$ .venv/bin/l2 ...` block in `section`."""
    text = README.read_text()
    body = text[text.index(f"## {section}\n"):]
    block = re.search(r"```text\n\$ \.venv/bin/l2 (.*?)\n(.*?)```", body, re.S)
    return block.group(1).split(), block.group(2).splitlines()


def test_sandbox_transcript_is_what_the_sandbox_prints():
    args, expected = transcript("Sandbox")
    statements = [line[4:] for line in expected if line.startswith((">>> ", "... "))]
    result = subprocess.run(
        [sys.executable, "-m", "l2", *args], input="\n".join(statements) + "\n", stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT, timeout=180, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    got = [line.rstrip() for line in result.stdout.splitlines()]
    assert got == expected


def test_demo_summary_is_what_make_demo_prints():
    args, expected = transcript("Demo")
    result = subprocess.run([sys.executable, "-m", "l2", *args], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)


def test_gas_report_tables_are_what_the_gas_report_prints(gas_report_run):
    result, _ = gas_report_run
    args, expected = transcript("Gas report")
    assert args == ["gas-report"] and result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)


def test_compare_table_is_what_make_compare_prints():
    args, expected = transcript("Compare")
    result = subprocess.run([sys.executable, "-m", "l2", *args], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_shown_in_order(expected, result.stdout)
