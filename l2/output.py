"""How the commands print: one rich console, and the units every table uses."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

ETHER = 10**18


def make_console(file=None) -> Console:
    """A rich console; off a terminal (CI logs, pipes) wide enough that tables are not cropped to 80 columns."""
    stream = file or sys.stdout
    return Console(file=file, width=None if stream.isatty() else 200)


def eth(wei: int, decimals: int = 4) -> str:
    """`1.2500 ETH`; exact below the shown precision is not the point of a table."""
    return f"{wei / ETHER:,.{decimals}f} ETH"


def gas(amount: float) -> str:
    return f"{amount:,.0f}"


def table(title: str, *columns: str) -> Table:
    """A table whose first column is left-aligned and the others (figures) right-aligned."""
    t = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        t.add_column(column, justify="left" if i == 0 else "right")
    return t
