"""The README shows real output: its sandbox transcript is replayed and compared line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from l2.compiler import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


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
        [sys.executable, "-m", "l2.cli", *args], input="\n".join(statements) + "\n", stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT, timeout=180, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    got = [line.rstrip() for line in result.stdout.splitlines()]
    assert got == expected
