"""Watched tasks that one list request observes together (the export tasks of a dataset,
the training jobs of a project, ...), and the choice between that request and per-task
ones. The list call's method and where its paging goes (the query, or a POST's JSON
body) are the kind's ``LIST_PAGING``.

A kind opts in by declaring ``LIST_PATH``, ``GROUP_IDS`` and ``LIST_PAGE`` (see
``ModelArtsTask``). The engine fetches such a task through :meth:`ListPolling.fetch`,
which asks :meth:`Groups.plan` whether to list: when the pages the list needs (learned from
its last answer) are no more than the group's tasks that would be polled soon anyway; a
poll of the group that comes while its list is in flight waits for that list's answer.
Listed items are parsed by the kind's own parser, so a task seen in a list says exactly
what its own GET would; a task missing from the list, or of a group whose list was
refused, is polled on its own.

A list never decides an outcome and never holds a task back: a list call that fails is
not the failure of the tasks it was made for (they are polled on their own, and the group
is not listed again for a while, ``LIST_RETRY`` seconds doubling up to ``LIST_RETRY_MAX``);
one listing sends no more pages than the tasks it was made for (what polling them one by
one would cost), and, unless the engine's rate binds, no further page once one of them is
due for a look by its own ``interval.maximum``.

Under a binding rate (pollers wait for grants) a poll that may list its group lists it
rather than wait for a grant first: the members due meanwhile park on that list
(:meth:`ListPolling.park`) instead of each taking a grant to wait for its answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from ._errors import PermanentError, PollerError, RateLimited
from ._ratelimit import CURRENT_GATE

PAGE_SIZE = 100  # the largest page the list calls allow
LIST_RETRY = 60.0  # seconds a group is polled task by task after its list call failed
LIST_RETRY_MAX = 3600.0  # ... doubling with each failure in a row, up to this

_log = logging.getLogger("modelarts_poller.engine")


def worth_listing(pages: int, due_soon: int) -> bool:
    """One list request of ``pages`` pages instead of ``due_soon`` per-task requests."""
    return due_soon >= 2 and pages <= due_soon


def pages_for(total: int, size: int = PAGE_SIZE) -> int:
    # Whole-number ceiling: a total_count of 10**400 would overflow a float division.
    return max(1, -(-total // size))


def retry_after(failures: int) -> float:
    """Seconds before a group whose list call failed ``failures`` times in a row is
    listed again."""
    return min(LIST_RETRY_MAX, LIST_RETRY * 2.0 ** min(failures - 1, 32))


class Listing:
    """One list request in flight for a group; other polls of the group share its answer.

    ``wanted`` are the members it was made for: only their polls wait for its answer.
    ``parked`` are wanted members taken out of the queue while it runs, with their due
    times (see :meth:`ListPolling.park`)."""

    __slots__ = ("done", "error", "found", "parked", "wanted")

    def __init__(self, wanted: dict[str, Any]) -> None:
        self.done = anyio.Event()
        self.found: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.wanted = wanted
        self.parked: list[tuple[Any, float]] = []


class Groups:
    """Members by group and by their own ID, the pages each group's list needs, the
    lists in flight, the groups whose list call was refused or, read to its end, showed
    none of the tasks it was made for (never listed again: their tasks are polled on
    their own), and those whose list call failed or stopped before its end without
    showing any of them (not listed again until ``held`` says)."""

    __slots__ = ("broken", "failures", "held", "in_flight", "members", "pages")

    def __init__(self) -> None:
        self.members: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.pages: dict[tuple[Any, ...], int] = {}
        self.in_flight: dict[tuple[Any, ...], Listing] = {}
        self.broken: set[tuple[Any, ...]] = set()
        self.held: dict[tuple[Any, ...], float] = {}  # group -> engine time it may list again
        self.failures: dict[tuple[Any, ...], int] = {}  # list calls failed in a row

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

    def failed(self, key: tuple[Any, ...], now: float) -> float:
        """A list call of ``key`` failed at ``now``: hold it off; returns for how long."""
        failures = self.failures[key] = self.failures.get(key, 0) + 1
        wait = retry_after(failures)
        self.held[key] = now + wait
        return wait

    def listed(self, key: tuple[Any, ...]) -> None:
        """A list call of ``key`` answered: failures in a row start over."""
        self.failures.pop(key, None)
        self.held.pop(key, None)

    def plan(self, handle: Any, now: float, horizon: float) -> dict[str, Any] | None:
        """The members to look for in a list request made for ``handle``'s poll (itself,
        those being polled, and those queued and due within ``horizon``), or ``None`` to
        poll it on its own."""
        key = handle.spec.group()
        group = self.members.get(key)
        if group is None or len(group) < 2 or key in self.broken:
            return None
        held = self.held.get(key)
        if held is not None and now < held:
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


def look_by(members: Any, now: float) -> float:
    """The engine time by which one of ``members`` is due for a look: the earliest
    ``interval.maximum`` after its last one (after ``now`` for one never seen)."""
    earliest = math.inf
    for m in members:
        maximum = m._policy.interval.maximum
        when = (m._seen_at if m._obs is not None else now) + maximum
        if when < earliest:
            earliest = when
    return earliest


class ListPolling:
    """The engine's list requests: :meth:`fetch` stands in for a poll's own request.

    What it needs of the engine is handed over at construction: ``client`` (whose
    ``request`` sends the list calls), ``tasks`` (the handles being watched, by spec),
    ``now`` (the engine's clock), ``fetch_own`` (a task's own request, for a poll the list
    does not answer), ``observe`` (hand a queued member the snapshot a list showed, as
    its poll), ``requeue`` (put a member back in the queue, due at a time; without it no
    member parks) and ``binding`` (whether the engine's rate binds: pollers wait for
    grants)."""

    __slots__ = (
        "_binding",
        "_client",
        "_fetch_own",
        "_now",
        "_observe",
        "_requeue",
        "_tasks",
        "groups",
    )

    def __init__(
        self,
        *,
        client: Any,
        tasks: Mapping[Any, Any],
        now: Callable[[], float],
        fetch_own: Callable[[Any], Awaitable[Any]],
        observe: Callable[[Any, Any], None],
        requeue: Callable[[Any, float], None] | None = None,
        binding: Callable[[], bool] = lambda: False,
    ) -> None:
        self._client = client
        self._requeue = requeue
        self._binding = binding
        self._tasks = tasks
        self._now = now
        self._fetch_own = fetch_own
        self._observe = observe
        self.groups = Groups()

    def listable(self, handle: Any) -> bool:
        """Whether a poll of ``handle`` may be answered by a list: its kind lists, and
        its group has others watched and was neither refused nor held off."""
        spec = handle.spec
        if getattr(spec, "LIST_PATH", None) is None:
            return False
        groups = self.groups
        key = spec.group()
        group = groups.members.get(key)
        if group is None or len(group) < 2 or key in groups.broken:
            return False
        held = groups.held.get(key)
        return held is None or self._now() >= held

    def park(self, handle: Any, due: float) -> bool:
        """Take ``handle`` (popped, due at ``due``) out of the way of the poll that popped
        it if a list in flight was made for it: that list's answer is its look (or, if
        the list does not show it, it is queued again at ``due``). Only for a task
        without a deadline, which the dispatcher ends only while it is queued.

        Under a binding rate the engine takes a grant before it chooses a poll: a poll
        that would only wait for a list's answer would hold that grant, unused, for
        the list's pages; parked, it needs none and the grant goes to another poll."""
        if handle._deadline is not None or self._requeue is None:
            return False
        listing = self.groups.in_flight.get(handle.spec.group())
        if listing is None or handle.spec.ids[-1] not in listing.wanted:
            return False
        listing.parked.append((handle, due))
        return True

    async def fetch(self, spec: Any) -> Any:
        """The snapshot of ``spec``'s task: from a list request when that is worth it (or
        one under way that was made for it), else from its own request."""
        groups, fetch_own = self.groups, self._fetch_own
        key = spec.group()
        own_id = spec.ids[-1]
        listing = groups.in_flight.get(key)
        if listing is not None:
            if own_id not in listing.wanted:
                # Not what it was made for: its pages (bounded by its own tasks' looks)
                # are no promise for this one.
                return await fetch_own(spec)
            # Another poll of this group is listing for it now: that answer is this
            # poll's too. A list that failed or did not show it: its own request. A grant
            # the engine took for this poll is given up, not held through the wait: spent
            # after it, it would reach the wire in a second the limiter has filled since.
            gate = CURRENT_GATE.get()
            if gate is not None:
                gate.prepaid = False
            await listing.done.wait()
            found = listing.found.get(own_id)
            return found if found is not None else await fetch_own(spec)
        handle = self._tasks.get(spec)
        if handle is None:
            return await fetch_own(spec)
        now = self._now()
        horizon = handle._policy.interval.initial
        if handle._obs is not None and now - handle._seen_at > horizon:
            horizon = now - handle._seen_at
        wanted = groups.plan(handle, now, horizon)
        if wanted is None:
            return await fetch_own(spec)
        listing = groups.in_flight[key] = Listing(wanted)
        members = groups.members.get(key, {})
        try:
            await self._list(spec, members, wanted, listing, look_by(wanted.values(), now))
        except PermanentError:
            groups.broken.add(key)  # refused (the dataset is gone?): its own GET will say
            listing.found.clear()
        except RateLimited:
            pass  # the quota, not the list: the limiter pauses everyone; list again after
        except Exception as exc:
            # Not the tasks' failure: each is polled on its own (the pages already read
            # are real answers and are kept), and the list waits before it is tried again.
            wait = groups.failed(key, self._now())
            _log.warning(
                "list call for %s failed (%s: %s); its %d task(s) are polled on their own, "
                "the list is tried again in %g s",
                spec.LIST_PATH,
                type(exc).__name__,
                exc,
                len(members),
                wait,
                # Not a server's answer (a bug here or in the kind's page parser): the
                # traceback is what finds it.
                exc_info=not isinstance(exc, PollerError),
            )
        except BaseException as exc:
            listing.error = exc
            self._requeue_parked(listing)
            raise
        else:
            groups.listed(key)
        finally:
            del groups.in_flight[key]
            listing.done.set()
        self._observe_listed(listing, handle, members)
        found = listing.found.get(own_id)
        return found if found is not None else await fetch_own(spec)

    async def _list(
        self,
        spec: Any,
        members: dict[str, Any],
        wanted: dict[str, Any],
        listing: Listing,
        stop_at: float,
    ) -> None:
        """Page through the list until every wanted member is found, the list ends, the
        pages reach the number of wanted members (what their own requests would cost),
        or, unless the engine's rate binds, a wanted member is due for a look by
        ``stop_at`` (engine time).

        Under a binding rate every request waits for its grant, a page as long as a
        member's own GET: a page that may show several due members is the cheaper look,
        so the list reads on (``stop_at`` would stop it after a page, whose members,
        first in the list, are often ended and no longer watched)."""
        key = spec.group()
        paging = spec.LIST_PAGING
        page = 0
        ended = False  # the list was read to its end
        while True:
            limits = paging.query(page)  # the query's, or with in_body the body's, fields
            total, items = await self._client.request(
                paging.method,
                spec.LIST_PATH,
                spec.LIST_PAGE,
                ids={n: getattr(spec, n) for n in spec.GROUP_IDS},
                query=None if paging.in_body else limits,
                body=limits if paging.in_body else None,
                project_id=spec.project_id,
            )
            for item in items:
                mid = getattr(item, spec.ID_NAMES[-1], None)
                if mid in members:
                    listing.found[mid] = item
            page += 1
            ended = paging.unpaged or len(items) < paging.size or page * paging.size >= total
            if (
                ended
                or all(w in listing.found for w in wanted)
                or page >= len(wanted)
                or (self._now() >= stop_at and not self._binding())
            ):
                break
        self.groups.pages[key] = 1 if paging.unpaged else pages_for(total, paging.size)
        if not any(w in listing.found for w in wanted):
            if ended:
                self.groups.broken.add(key)  # a list that shows none of them is no use here
            else:
                # Its first pages showed none (ended resources, no longer watched, fill
                # them): no sign the list is of no use, but this one was not worth it.
                self.groups.failed(key, self._now())

    def _requeue_parked(self, listing: Listing) -> None:
        requeue = self._requeue
        if requeue is not None:
            for member, due in listing.parked:
                if member._outcome is None and member._seq == 0:
                    requeue(member, due)

    def _observe_listed(self, listing: Listing, lister: Any, members: dict[str, Any]) -> None:
        """Hand each queued member the list saw its snapshot, as if it had been polled."""
        now = self._now()
        found = listing.found
        for mid, item in found.items():
            member = members.get(mid)
            if member is None or member is lister or member._seq <= 0:
                continue  # gone, the lister itself, or being polled (or shared) right now
            if member._deadline is not None and now >= member._deadline:
                continue  # its own turn fails it
            member._seq = 0  # out of the queue: this observation is its poll
            self._observe(member, item)
        if listing.parked:
            requeue = self._requeue
            assert requeue is not None  # without it nothing parks
            for member, due in listing.parked:
                if member._outcome is not None or member._seq != 0:
                    continue  # ended or unwatched meanwhile, or queued again
                item = found.get(member.spec.ids[-1])
                if item is None:
                    requeue(member, due)  # not shown: its own poll, as due
                else:
                    self._observe(member, item)
