"""How the commands print: one rich console, and the units every table uses."""

from __future__ import annotations

import math
import sys

from rich.console import Console
from rich.table import Table

ETHER = 10**18


def make_console(file=None) -> Console:
    """A rich console; off a terminal (CI logs, pipes) wide enough that tables are not cropped to 80 columns."""
    stream = file or sys.stdout
    return Console(file=file, width=None if stream.isatty() else 200)


def eth(wei: int, decimals: int = 4) -> str:
    """`1.2500 ETH`; exact below the shown precision is not the point of a table.

    An amount under 1 ETH that `decimals` would show with fewer than two significant digits gets three
    (trailing zeros dropped): `eth(10**16, 0)` is `0.01 ETH`, not `0 ETH`, where a node without dev
    accounts scales the sandbox's amounts down."""
    text = f"{wei / ETHER:,.{decimals}f}"
    if 0 < abs(wei) < ETHER and len(text.lstrip("-0.").replace(".", "")) < 2:
        places = max(decimals, 2 - math.floor(math.log10(abs(wei) / ETHER)))  # three significant digits
        whole, _, fraction = f"{wei / ETHER:.{places}f}".partition(".")
        fraction = fraction.rstrip("0").ljust(decimals, "0")
        text = f"{whole}.{fraction}" if fraction else whole
    return f"{text} ETH"


def gas(amount: float) -> str:
    return f"{amount:,.0f}"


def table(title: str, *columns: str) -> Table:
    """A table whose first column is left-aligned and the others (figures) right-aligned."""
    t = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        t.add_column(column, justify="left" if i == 0 else "right")
    return t
