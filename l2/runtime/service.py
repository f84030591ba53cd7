"""Operators as services: each `step()` does one round of its work and returns what it did as events.

The sequencer, the challenger and the channel watchers are services; the sandbox's operator thread,
the demo and `l2 compare` drive them with the same `run_round`. A service never prints: its events
have a `__str__` for a console, and the caller decides where they go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from l2.errors import L2Error


@dataclass(frozen=True)
class Event:
    """One thing a service did or saw, as a console shows it: `[who] text`."""

    who: str
    text: str

    def __str__(self) -> str:
        return f"[{self.who}] {self.text}"


class Service(Protocol):
    """An operator: `step(urgent)` does one round of its work, now if `urgent` (post what is pending
    instead of waiting for a batch to fill), and returns its events."""

    name: str

    def step(self, urgent: bool = False) -> list[Event]: ...


def run_round(services: list[Service], urgent: bool = False) -> list[Event]:
    """One round of every service, in order. A failure becomes an `error:` event of that service and the
    others still run: an operator loop must outlive any one failure, and say so rather than die quietly."""
    events: list[Event] = []
    for service in services:
        try:
            events += service.step(urgent)
        except L2Error as exc:
            events.append(Event(service.name, f"error: {exc}"))
        except Exception as exc:  # noqa: BLE001 - see the docstring
            events.append(Event(service.name, f"error: {type(exc).__name__}: {exc}"))
    return events
