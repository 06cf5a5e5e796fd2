"""Watched tasks that one list request observes together (export and import tasks of a
dataset), and the choice between that request and per-task ones.

A kind opts in by declaring ``LIST_PATH``, ``GROUP_IDS`` and ``LIST_PAGE`` (see
``ModelArtsTask``). The engine then asks :meth:`Groups.plan` on each poll of such a task:
list when the pages the list needs (learned from its last answer) are no more than the
group's tasks that would be polled soon anyway. Listed items are parsed by the kind's own
parser, so a task seen in a list says exactly what its own GET would; a task missing from
the list is polled on its own.
"""

from __future__ import annotations

import math
from typing import Any

import anyio

PAGE_SIZE = 100  # the largest page the list calls allow


def worth_listing(pages: int, due_soon: int) -> bool:
    """One list request of ``pages`` pages instead of ``due_soon`` per-task requests."""
    return due_soon >= 2 and pages <= due_soon


def pages_for(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


class Listing:
    """One list request in flight for a group; other polls of the group share its answer."""

    __slots__ = ("done", "error", "found")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.found: dict[str, Any] = {}
        self.error: BaseException | None = None


class Groups:
    """Members by group and by their own ID, the pages each group's list needs, the
    lists in flight, and the groups whose list call was refused or showed none of the
    tasks it was made for (never listed again: their tasks are polled on their own)."""

    __slots__ = ("broken", "in_flight", "members", "pages")

    def __init__(self) -> None:
        self.members: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.pages: dict[tuple[Any, ...], int] = {}
        self.in_flight: dict[tuple[Any, ...], Listing] = {}
        self.broken: set[tuple[Any, ...]] = set()

    def add(self, handle: Any) -> None:
        spec = handle.spec
        self.members.setdefault(spec.group(), {})[spec.ids[-1]] = handle

    def remove(self, handle: Any) -> None:
        spec = handle.spec
        key = spec.group()
        group = self.members.get(key)
        if group is not None and group.get(spec.ids[-1]) is handle:
            del group[spec.ids[-1]]
            if not group:
                del self.members[key]
                self.pages.pop(key, None)

    def plan(self, handle: Any, now: float, horizon: float) -> dict[str, Any] | None:
        """The members to look for in a list request made for ``handle``'s poll (itself,
        those being polled, and those queued and due within ``horizon``), or ``None`` to
        poll it on its own."""
        key = handle.spec.group()
        group = self.members.get(key)
        if group is None or len(group) < 2 or key in self.broken:
            return None
        soon = now + horizon
        # Queued members due soon, and members popped for a poll of their own: those that
        # have not sent it yet share this list's answer instead (Engine._fetch_listed).
        wanted = {
            mid: m
            for mid, m in group.items()
            if m._outcome is None and (m._seq == 0 or (m._seq > 0 and m._due <= soon))
        }
        if not worth_listing(self.pages.get(key, 1), len(wanted)):
            return None
        return wanted
