"""The registry of Layer-2 designs: every command iterates `DESIGNS` and names none of them.

Adding a design: `l2/designs/<name>/` (with a `design.py` building its `Design`, see `api.py`),
`contracts/<name>/`, `tests/designs/<name>/`, and one line in `REGISTERED` below.
"""

from __future__ import annotations

import importlib

from l2.designs.api import Design

# One line per design: the package under l2/designs/ whose `design.py` defines `DESIGN`.
REGISTERED = [
    "channels",
    "optimistic",
    "statechannels",
    "zk",
    "sidechain",
]

_ALL: list[Design] = [importlib.import_module(f"l2.designs.{name}.design").DESIGN for name in REGISTERED]
# A registered design that cannot run here (a tool it needs is missing: the zk-rollup's circuit needs node and
# the checkout's circuits/, which an installed wheel lacks) is left out, so the commands run the others;
# `design(name)` says why.
UNAVAILABLE: dict[str, str] = {d.name: why for d in _ALL if (why := d.missing())}
DESIGNS: list[Design] = [d for d in _ALL if d.name not in UNAVAILABLE]


def design(name: str) -> Design:
    """The registered design called `name`; InputError naming the others if there is none."""
    from l2.errors import InputError

    for d in DESIGNS:
        if d.name == name:
            return d
    if name in UNAVAILABLE:
        raise InputError(f"the design {name!r} cannot run here: {UNAVAILABLE[name]}")
    raise InputError(f"no design called {name!r}: choose one of {', '.join(d.name for d in DESIGNS)}")


def deployment_plan() -> list:
    """The foundation's contracts, then each design's, in registry order."""
    from l2.l1.deploy import FOUNDATION_PLAN

    return [*FOUNDATION_PLAN, *(spec for d in DESIGNS for spec in d.contracts)]
