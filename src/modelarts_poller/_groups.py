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

    ``wanted`` are the members it was made for: only their polls wait for its answer,
    each until a page shows it (``page`` is set after every page) or the list is
    ``done``. ``parked`` are wanted members taken out of the queue while it runs, by ID,
    with their due times (see :meth:`ListPolling.park`)."""

    __slots__ = ("done", "error", "found", "page", "parked", "stop_at", "wanted", "worth")

    def __init__(self, wanted: dict[str, Any]) -> None:
        self.done = anyio.Event()
        self.page = anyio.Event()
        self.found: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.wanted = wanted
        self.parked: dict[str, tuple[Any, float]] = {}
        self.stop_at = math.inf  # no page after this (engine time) unless the rate binds
        self.worth = len(wanted)  # the most pages it may read: the members waiting for it

    async def wait_for(self, member_id: str) -> Any:
        """What a page showed of ``member_id``, as soon as one does; ``None`` if the list
        ended (or failed) without showing it."""
        while True:
            found = self.found.get(member_id)
            if found is not None or self.done.is_set():
                return found
            await self.page.wait()

    def paged(self) -> None:
        """A page was read (or the list ended): wake the polls waiting for it."""
        self.page.set()
        self.page = anyio.Event()


class Groups:
    """Members by group and by their own ID, the pages each group's list needs, the
    lists in flight, the groups whose list call was refused or, read to its end, showed
    none of the tasks it was made for (never listed again: their tasks are polled on
    their own), and those whose list call failed or stopped before its end without
    showing any of them (not listed again until ``held`` says)."""

    __slots__ = (
        "broken",
        "failures",
        "held",
        "in_flight",
        "members",
        "own",
        "pages",
        "sweep",
        "where",
    )

    def __init__(self) -> None:
        self.members: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.pages: dict[tuple[Any, ...], int] = {}
        # group -> member ID -> the page its list last showed it on
        self.where: dict[tuple[Any, ...], dict[str, int]] = {}
        # Members a list waited for and did not show: their next poll is their own.
        self.own: set[Any] = set()
        self.sweep: dict[tuple[Any, ...], float] = {}  # group -> seconds its last full read took
        self.in_flight: dict[tuple[Any, ...], Listing] = {}
        self.broken: set[tuple[Any, ...]] = set()
        self.held: dict[tuple[Any, ...], float] = {}  # group -> engine time it may list again
        self.failures: dict[tuple[Any, ...], int] = {}  # list calls failed in a row

    def add(self, handle: Any) -> None:
        spec = handle.spec
        self.members.setdefault(spec.group(), {})[spec.ids[-1]] = handle

    def remove(self, handle: Any) -> None:
        spec = handle.spec
        self.own.discard(spec)
        key = spec.group()
        group = self.members.get(key)
        if group is not None and group.get(spec.ids[-1]) is handle:
            del group[spec.ids[-1]]
            if not group:
                del self.members[key]
                self.pages.pop(key, None)
                self.where.pop(key, None)
                self.sweep.pop(key, None)

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


def _horizon(handle: Any, now: float) -> float:
    """How far ahead a list made for ``handle``'s poll at ``now`` looks for members due:
    its interval's ``initial``, or the time since it was last seen if longer."""
    horizon: float = handle._policy.interval.initial
    if handle._obs is not None and now - handle._seen_at > horizon:
        horizon = now - handle._seen_at
    return horizon


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
    member parks), ``binding`` (whether the engine's rate binds: pollers wait for
    grants) and ``spawn`` (run a list request on its own, so that the poll it was made
    for ends with the page that shows its task; without it, that poll runs the list)."""

    __slots__ = (
        "_binding",
        "_client",
        "_fetch_own",
        "_now",
        "_observe",
        "_requeue",
        "_spawn",
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
        spawn: Callable[..., None] | None = None,
    ) -> None:
        self._client = client
        self._spawn = spawn
        self._requeue = requeue
        self._binding = binding
        self._tasks = tasks
        self._now = now
        self._fetch_own = fetch_own
        self._observe = observe
        self.groups = Groups()

    def listable(self, handle: Any) -> bool:
        """Whether a poll of ``handle`` would list its group now: its kind lists, and the
        group's list (neither refused nor held off) is worth it, its pages no more than
        the members it would look at (see :meth:`Groups.plan`). A list that would show
        only this task is not: its poll is one request either way."""
        spec = handle.spec
        if getattr(spec, "LIST_PATH", None) is None:
            return False
        now = self._now()
        return self.groups.plan(handle, now, _horizon(handle, now)) is not None

    def place(self, handle: Any, now: float, due: float) -> float:
        """When ``handle``'s next poll (placed at ``due`` at ``now``) falls due, given its
        group's list: no later than the time a full read of that list took before its
        ``interval.maximum`` (and no sooner than its ``interval.initial``).

        A list read sends no page past a member's maximum, unless the next page is where
        it was; a sweep that starts when its first member falls due at that maximum (as
        learned placement puts the next look of a task unlikely to end) finds the next
        pages' members overdue as soon as it starts late by a page's time, stops, and
        leaves them to their own requests. Started a sweep's time ahead, it reaches each
        member before its maximum."""
        groups = self.groups
        if not groups.sweep:
            return due
        spec = handle.spec
        if getattr(spec, "LIST_PATH", None) is None:
            return due
        sweep = groups.sweep.get(spec.group())
        if sweep is None:
            return due
        interval = handle._policy.interval
        latest = now + max(interval.initial, interval.maximum - sweep)
        return latest if latest < due else due

    def park(self, handle: Any, due: float) -> bool:
        """Take ``handle`` (popped, due at ``due``) out of the way of the poll that popped
        it while its group's list is in flight: a page that shows it is its look, and if
        none does, it is queued again at ``due`` when the list ends. Not a task with a
        deadline (the dispatcher ends only queued tasks), and, unless the rate binds,
        not one whose ``interval.maximum`` comes before the list's last page may start.

        A member polled on its own while its group is being listed pays a request for
        what a page may show (at no cost) a moment later; under a binding rate, for
        which the engine takes a grant before it chooses a poll, it would also hold that
        grant, unused, for the list's pages."""
        in_flight = self.groups.in_flight
        if not in_flight or handle._deadline is not None or self._requeue is None:
            return False
        spec = handle.spec
        if getattr(spec, "LIST_PATH", None) is None or spec in self.groups.own:
            return False  # a kind that does not list; or its next poll is its own
        listing = in_flight.get(spec.group())
        if listing is None:
            return False
        if look_by((handle,), self._now()) < listing.stop_at and not self._binding():
            return False
        mid = spec.ids[-1]
        if mid not in listing.wanted and mid not in listing.found:
            listing.worth += 1  # one more member whose own request a page may save
        listing.parked[mid] = (handle, due)
        return True

    async def fetch(self, spec: Any) -> Any:
        """The snapshot of ``spec``'s task: from a list request when that is worth it (or
        one under way that was made for it), else from its own request."""
        groups, fetch_own = self.groups, self._fetch_own
        if groups.own and spec in groups.own:
            groups.own.discard(spec)
            return await fetch_own(spec)
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
                gate.unspend()
            found = await listing.wait_for(own_id)
            return found if found is not None else await fetch_own(spec)
        handle = self._tasks.get(spec)
        if handle is None:
            return await fetch_own(spec)
        now = self._now()
        wanted = groups.plan(handle, now, _horizon(handle, now))
        if wanted is None:
            return await fetch_own(spec)
        listing = groups.in_flight[key] = Listing(wanted)
        members = groups.members.get(key, {})
        if self._spawn is None:
            await self._run(spec, handle, members, wanted, listing)
            found = listing.found.get(own_id)
        else:
            # The list runs on its own: this poll, like every other it was made for,
            # ends when a page shows its task, not when the list's last page is read.
            self._spawn(self._run, spec, handle, members, wanted, listing)
            found = await listing.wait_for(own_id)
        return found if found is not None else await fetch_own(spec)

    async def _run(
        self,
        spec: Any,
        lister: Any,
        members: dict[str, Any],
        wanted: dict[str, Any],
        listing: Listing,
    ) -> None:
        """One list request made for ``lister``'s poll, its failures handled (see the
        module's docstring); the parked members it did not show are queued again."""
        groups = self.groups
        key = spec.group()
        try:
            ended = await self._list(spec, lister, members, wanted, listing)
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
            listing.found.clear()
            self._requeue_parked(listing)
            raise
        else:
            if any(w in listing.found for w in wanted):
                groups.listed(key)
            elif ended:
                groups.broken.add(key)  # a list that shows none of them is no use here
            else:
                # Its first pages showed none (ended resources, no longer watched, fill
                # them): no sign the list is of no use, but this one was not worth it.
                groups.failed(key, self._now())
        finally:
            del groups.in_flight[key]
            listing.done.set()
            listing.paged()
        self._requeue_parked(listing)  # those it did not show: their own polls

    async def _list(
        self,
        spec: Any,
        lister: Any,
        members: dict[str, Any],
        wanted: dict[str, Any],
        listing: Listing,
    ) -> bool:
        """Page through the list made for ``lister``'s poll until every wanted member is
        found, the list ends, the pages reach the number of wanted members (what their
        own requests would cost), or, unless the engine's rate binds, a wanted member no
        page has shown yet is due for a look by its ``interval.maximum`` and not expected
        on the next page (where the last list showed it): that page is as soon a look
        as its own request would be, a later one is not. What each page shows is handed
        to its members as it comes (:meth:`_deliver`): a member the list has shown is
        looked at, so only those still to be shown bound its pages.

        Under a binding rate every request waits for its grant, a page as long as a
        member's own GET: a page that may show several due members is the cheaper look,
        so the list reads on (the bound would stop it after a page, whose members, first
        in the list, are often ended and no longer watched). Returns whether the list was
        read to its end."""
        key = spec.group()
        found = listing.found
        where = self.groups.where.setdefault(key, {})
        started = self._now()
        stop_at = listing.stop_at = look_by(
            [m for w, m in wanted.items() if where.get(w, 0) != 0], started
        )
        paging = spec.LIST_PAGING
        page = page_count = 0
        ended: bool = False  # the list was read to its end
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
            shown = {}
            for item in items:
                mid = getattr(item, spec.ID_NAMES[-1], None)
                if mid in members:
                    shown[mid] = item
                    where[mid] = page
            found.update(shown)
            self._deliver(listing, lister, members, shown)
            page += 1
            page_count = page
            ended = bool(paging.unpaged or len(items) < paging.size or page * paging.size >= total)
            if ended or page >= listing.worth:
                break
            unshown = [(w, m) for w, m in wanted.items() if w not in found]
            # Members parked on it wait for it too (those shown are out of ``parked``).
            unshown.extend((w, m) for w, (m, _) in listing.parked.items() if w not in wanted)
            if not unshown:
                break
            stop_at = listing.stop_at = look_by(
                [m for w, m in unshown if where.get(w) != page], started
            )
            if self._now() >= stop_at and not self._binding():
                break
        self.groups.pages[key] = 1 if paging.unpaged else pages_for(total, paging.size)
        if ended and page_count > 1:
            self.groups.sweep[key] = self._now() - started
        return ended

    def _requeue_parked(self, listing: Listing) -> None:
        """Queue again, at their due times, the parked members the list did not show
        since they parked. The next poll of one it never showed is its own request
        (another list might stop short of it again); one it showed before it parked
        was looked at by this list."""
        requeue = self._requeue
        if requeue is not None:
            own, found = self.groups.own, listing.found
            for mid, (member, due) in listing.parked.items():
                if member._outcome is None and member._seq == 0:
                    if mid not in found:
                        own.add(member.spec)
                    requeue(member, due)
        listing.parked.clear()

    def _deliver(
        self, listing: Listing, lister: Any, members: dict[str, Any], shown: dict[str, Any]
    ) -> None:
        """Hand what a page ``shown`` to its members, as if each had been polled: queued
        ones and parked ones are observed now; polls waiting for the list (the lister's
        too) read it from ``found``."""
        now = self._now()
        parked = listing.parked
        for mid, item in shown.items():
            member = members.get(mid)
            if member is None or member is lister:
                continue  # gone, or the lister itself (its poll returns it)
            if mid in parked:
                member = parked.pop(mid)[0]
                if member._outcome is not None or member._seq != 0:
                    continue  # ended or unwatched meanwhile, or queued again
            elif member._seq <= 0:
                continue  # being polled (or waiting for this list) right now
            elif member._deadline is not None and now >= member._deadline:
                continue  # its own turn fails it
            member._seq = 0  # out of the queue: this observation is its poll
            self._observe(member, item)
        listing.paged()
