"""The engine's scheduling primitives, as pure code: no ``await``, no clock, no I/O.

The engine's runner asks these questions here: which watched task to poll now and which
queued ones have run out of time (:class:`Scheduler`), how much a due poll is worth when
due polls compete for a limited rate (:func:`change_chance`, :func:`priority_credit`),
and when to poll a task next given what it reported and what its kind's durations look
like (:func:`placed_delay`). Time comes in as ``now`` arguments, randomness as ``draw``
values; the tests drive all of it with plain numbers.

Due polls compete only when they cannot all start at once (the rate limit or the
in-flight limit binds). Then they are served in the order of ``due - credit``, where the
credit is the chance of news times ``PRIORITY_SPAN`` times (the task's interval plus the
backlog, how late due polls start at the time): a poll likely to find news (a progress
estimate that has passed, a kind whose tasks usually end by now, a task never seen) goes
first, and a poll can be overtaken only by polls that fell due less than that span after
it, so none waits for ever behind newer ones.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from ._backoff import Backoff
from ._policy import rhythm_at

PRIORITY_SPAN = 2.0
REKEY_EVERY = 0.25  # seconds between fresh credits for (a slice of) the due polls that wait
REKEY_SLICE = 500  # waiting polls given fresh credits at a time: a bounded pause, ~5 ms
# The delay budget: at most this share of a kind's learned ends fall in the ages where its
# tasks without progress are not polled (DurationModel.sparse_until), docs/engine.md.
LATE_BUDGET = 0.02
HEDGE = 0.5  # a progress estimate's jump stops where this share of the kind's runners ended
_INF = math.inf
_SEQ_BITS = 64  # a timer entry's low bits: its sequence number (never reaches 2**64)
_SEQ_MASK = (1 << _SEQ_BITS) - 1
_FAR = 1 << 1100  # the nanoseconds of an infinite due time: past any finite float's
_floor = math.floor


def _ns(t: float) -> int:
    """``t`` seconds in whole nanoseconds, rounded down; infinities beyond every float."""
    try:
        return _floor(t * 1e9)
    except (OverflowError, ValueError):
        return _FAR if t > 0 else -_FAR


class Schedulable(Protocol):
    """What the scheduler keeps on an item: the sequence number of its live entry
    (0 while it is not queued, -1 once it is finished), when it is due, and its deadline
    (``None``: none; read only for items given to :meth:`Scheduler.add_deadline`)."""

    _seq: int
    _due: float
    _deadline: float | None


T = TypeVar("T", bound=Schedulable)


class Scheduler(Generic[T]):
    """A timer heap of entries ordered by ``(due, seq)`` and, when due polls compete, a
    ready heap ordered by ``due - credit``. Cancelling or re-pushing an item leaves its old
    entry behind; entries whose ``seq`` no longer matches the item's are skipped.

    A timer entry is one int, the due time in whole nanoseconds (rounded down) above
    ``seq``; the item is found in a dict by ``seq`` and its exact due time on the item.
    An int is no container: the collector never tracks it, so a million queued items add
    nothing to the objects a full collection walks (a ``(due, seq, item)`` tuple added one
    per item), and the entry a poll pushes never sits in the youngest generation (a tuple
    does until a collection untracks it: at thousands of polls a second, a collection
    that rarely comes then has tens of thousands of them to walk).

    ``credit(item, due, now)`` gives a due item's credit in seconds (see the module
    docstring); ``None`` serves due items in due order.

    Deadlines are kept apart from due times: a queued item whose deadline has passed must
    end then, whether it is due or waiting among the due for a rate grant or a free
    poller, and :meth:`expired` hands such items out without regard to credit or limits.
    An item's deadline entry is ``(deadline, id(item))``, pushed once per deadline (not
    per poll); the item is found by its id, and the entry is live while that item's
    deadline is still the same.
    """

    __slots__ = (
        "_counter",
        "_credit",
        "_deadlines",
        "_expiring",
        "_items",
        "_next_rekey",
        "_ready",
        "_rekey_at",
        "_timer",
        "_waiting",
        "backlog",
        "last_due",
    )

    def __init__(self, credit: Callable[[T, float, float], float] | None = None) -> None:
        self._timer: list[int] = []  # (due in ns) << _SEQ_BITS | seq
        self._items: dict[int, T] = {}  # seq -> item, for every timer entry (stale too)
        # (due - credit, seq, due): no item in it, so the collector untracks the tuple
        # (thousands of due polls wait when the rate binds); the item is in _waiting.
        self._ready: list[tuple[float, int, float]] = []
        self._waiting: dict[int, T] = {}  # seq -> item, for every ready entry (stale too)
        self._counter = itertools.count(1)
        self._credit = credit
        self.last_due = 0.0  # the due time of the item pop() last returned
        self.backlog = 0.0  # how late due items start, smoothed over the last few dozen
        self._next_rekey = -_INF
        self._rekey_at = 0  # where the next slice of waiting polls starts
        # (deadline, id(item)): atoms only, so the collector untracks the tuple.
        self._deadlines: list[tuple[float, int]] = []
        self._expiring: dict[int, T] = {}  # id(item) -> item, for items with a deadline

    def push(self, item: T, due: float) -> None:
        seq = next(self._counter)
        item._seq = seq
        item._due = due
        self._items[seq] = item
        try:
            ns = _floor(due * 1e9)
        except (OverflowError, ValueError):  # infinite (or NaN): after every finite time
            ns = -_FAR if due < 0 else _FAR
        heapq.heappush(self._timer, ns << _SEQ_BITS | seq)

    def earliest(self) -> float:
        """When the next item is due (``-inf`` if one is waiting already, ``inf`` if
        none is queued). May be early: a stale entry's time counts until it is popped."""
        if self._ready:
            return -_INF
        return self._head_due()

    def _head_due(self) -> float:
        """The first timer entry's due time: exact if it is live, else its time rounded
        down to the nanosecond (early, never late)."""
        timer = self._timer
        if not timer:
            return _INF
        key = timer[0]
        seq = key & _SEQ_MASK
        item = self._items[seq]
        if item._seq == seq:
            return item._due
        ns = key >> _SEQ_BITS
        return (ns - 1) / 1e9 if -_FAR < ns < _FAR else (_INF if ns > 0 else -_INF)

    def pop(self, now: float) -> T | float:
        """The item to poll now, or the time to look again."""
        timer, ready, items, waiting = self._timer, self._ready, self._items, self._waiting
        pop = heapq.heappop
        credit = self._credit
        moved = 0
        # Entries above the horizon are due after ``now`` (their nanosecond is later);
        # at or below it the item's exact due time decides.
        horizon = _ns(now) << _SEQ_BITS | _SEQ_MASK
        aside: list[int] | None = None  # live entries of now's nanosecond, not due yet
        soonest = _INF  # the earliest of their due times
        while timer:
            key = timer[0]
            seq = key & _SEQ_MASK
            item = items[seq]
            if item._seq != seq:
                pop(timer)
                del items[seq]
                continue
            if key > horizon:
                break
            pop(timer)
            due = item._due
            if due > now:
                if aside is None:
                    aside = []
                aside.append(key)
                if due < soonest:
                    soonest = due
                continue
            del items[seq]
            if not ready:
                # The common case when nothing competes: the next live entry is not due,
                # so this one goes out without computing anyone's credit.
                while timer:
                    head = timer[0] & _SEQ_MASK
                    if items[head]._seq == head:
                        break
                    pop(timer)
                    del items[head]
                if not timer or timer[0] > horizon:
                    if aside is not None:
                        for key in aside:
                            heapq.heappush(timer, key)
                    item._seq = 0
                    self.last_due = due
                    self.backlog += (now - due - self.backlog) * 0.05
                    return item
            c = credit(item, due, now) if credit is not None else 0.0
            heapq.heappush(ready, (due - c, seq, due))
            waiting[seq] = item
            moved += 1
            if moved >= REKEY_SLICE:
                break  # a bounded pause: the rest join the due on the next pops
        if aside is not None:
            for key in aside:
                heapq.heappush(timer, key)
        if ready and credit is not None and now >= self._next_rekey:
            self._rekey(now)
            ready = self._ready
        while ready:
            _key, seq, due = pop(ready)
            item = waiting.pop(seq)
            if item._seq != seq:
                continue
            item._seq = 0
            self.last_due = due
            self.backlog += (now - due - self.backlog) * 0.05
            return item
        if not ready:
            self.backlog = 0.0  # nothing waits: no queue to pass
        look = self._head_due()
        return soonest if soonest < look else look

    def _rekey(self, now: float) -> None:
        """Credits are given when an item joins the due; while due items wait, what is
        known changes (time passes, durations are learned), so every ``REKEY_EVERY``
        seconds a slice of ``REKEY_SLICE`` waiting items (in turn, all of them when they
        are few) gets its credit again: a pause of a few milliseconds, never one that
        grows with the number of waiting items."""
        credit = self._credit
        assert credit is not None
        ready, waiting = self._ready, self._waiting
        if len(ready) <= REKEY_SLICE:
            live = []
            for _key, seq, due in ready:
                item = waiting[seq]
                if item._seq == seq:
                    live.append((due - credit(item, due, now), seq, due))
                else:
                    del waiting[seq]  # stale: dropped here, not popped later
            self._ready = ready = live
        else:
            start = self._rekey_at if self._rekey_at < len(ready) else 0
            end = min(start + REKEY_SLICE, len(ready))
            for i in range(start, end):
                _key, seq, due = ready[i]
                item = waiting[seq]
                if item._seq == seq:
                    ready[i] = (due - credit(item, due, now), seq, due)
            self._rekey_at = end
        heapq.heapify(ready)
        self._next_rekey = now + REKEY_EVERY

    def unpop(self, item: T, due: float, now: float) -> None:
        """Put ``item`` (popped, due at ``due``) back among the due items: the engine does
        so while it waits for a rate grant, so that the choice is made when the poll can
        start, not when it began to wait."""
        credit = self._credit
        seq = next(self._counter)
        item._seq = seq
        c = credit(item, due, now) if credit is not None else 0.0
        heapq.heappush(self._ready, (due - c, seq, due))
        self._waiting[seq] = item

    def add_deadline(self, item: T) -> None:
        """From now on, :meth:`expired` hands ``item`` out once ``item._deadline`` (set,
        not ``None``) has passed while it is queued; a new deadline replaces the old."""
        assert item._deadline is not None
        ident = id(item)
        self._expiring[ident] = item
        heapq.heappush(self._deadlines, (item._deadline, ident))

    def forget_deadline(self, item: T) -> None:
        """``item`` is finished: its deadline entry goes stale (and so does not keep the
        item alive until its deadline)."""
        ident = id(item)
        if self._expiring.get(ident) is item:
            del self._expiring[ident]
            if len(self._deadlines) > 2 * len(self._expiring) + 1024:
                # Mostly stale (tasks end long before their deadlines): rebuilt from the
                # live ones, so the heap stays in proportion to the tasks with deadlines.
                self._deadlines = [(it._deadline, i) for i, it in self._expiring.items()]  # type: ignore[misc]
                heapq.heapify(self._deadlines)

    def _live_deadline(self, entry: tuple[float, int]) -> T | None:
        item = self._expiring.get(entry[1])
        if item is None or item._deadline != entry[0]:
            return None  # finished, or given another deadline since
        return item

    def next_deadline(self) -> float:
        """The earliest deadline of an item still watched for one (``inf`` if none)."""
        heap = self._deadlines
        while heap:
            if self._live_deadline(heap[0]) is not None:
                return heap[0][0]
            heapq.heappop(heap)
        return _INF

    def expired(self, now: float) -> list[T]:
        """The queued items whose deadline is ``now`` or earlier, taken out of the queue
        (``_seq`` 0), however they rank among the due. An item not queued when its
        deadline passes is in the hands of its poller, which ends it itself; either way
        its deadline entry is used up."""
        heap, expiring = self._deadlines, self._expiring
        out: list[T] = []
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            item = self._live_deadline(entry)
            if item is None:
                continue
            del expiring[entry[1]]
            if item._seq > 0:
                item._seq = 0
                out.append(item)
        return out

    def clear(self) -> None:
        self._timer.clear()
        self._items.clear()
        self._ready.clear()
        self._waiting.clear()
        self._deadlines.clear()
        self._expiring.clear()

    def __len__(self) -> int:
        """Entries held, stale ones included."""
        return len(self._timer) + len(self._ready)


def change_chance(
    *,
    seen: bool,
    waited: float,
    eta: float | None,
    ended: float | None,
) -> float:
    """The chance that a task has something new to say, in [0, 1].

    ``seen``: the task was observed before. ``waited``: seconds since it last was.
    ``eta``: seconds from that observation to its estimated finish, for a task that
    reports progress. ``ended``: the learned chance that a task of its kind that was
    alive then (or, never seen, at its watch's start) has ended by now (``None`` while
    the kind is not known yet).
    """
    if not seen:
        # Its first answer is news; more so if its kind's tasks have usually ended by now,
        # less if they seldom have (a kind not known yet sits between the two).
        return 0.75 if ended is None else 0.5 + 0.5 * ended
    if eta is not None:
        if waited >= eta:
            return 0.95
        return 0.5 * waited / eta if eta > 0 else 0.95
    if ended is not None:
        return ended
    return 0.25


def priority_credit(chance: float, interval: float, backlog: float = 0.0) -> float:
    """Seconds by which a due poll of ``chance`` may jump the due-time order: at most
    ``PRIORITY_SPAN`` times its ``interval`` plus the ``backlog`` (how late due polls
    are starting now), so that a likely end can pass a queue of any length."""
    if not (chance > 0):
        return 0.0
    span = (min(interval, 3600.0) if interval > 0 else 0.0) + (backlog if backlog > 0 else 0.0)
    return PRIORITY_SPAN * min(chance, 1.0) * span


def placed_delay(
    delay: float,
    maximum: float,
    age: float,
    quiet_until: float | None,
) -> float:
    """The delay to the next poll of a task that reports no progress, at ``age``.

    ``delay`` is what the policy asks for; ``quiet_until`` the age at which the sparse
    stretch holding ``age`` ends (``DurationModel.sparse_until``: where few of the kind's
    tasks end given their age), or ``None`` at a dense age or while nothing is learned.
    In a sparse stretch the poll moves to its end; at a dense age the policy's rhythm
    holds. Never earlier than ``delay``, never later than ``maximum``.
    """
    if quiet_until is None or not (quiet_until > age):
        return delay
    later = quiet_until - age
    if later <= delay:
        return delay
    return maximum if later > maximum else later


def no_progress_delay(
    delay: float,
    interval: Backoff,
    age: float,
    sparse_until: float | None,
    half_ended: float | None,
) -> float:
    """The delay to the next poll of a task that reports no progress, at ``age``: the
    placement rule of docs/engine.md, Request economy.

    ``delay`` is what the policy asks for now (its attempt count restarts when the status
    changes); ``sparse_until`` the end of the sparse stretch holding ``age`` (``None`` at a
    dense age, or while nothing is learned); ``half_ended`` the age by which ``HEDGE`` of
    the kind's learned ends later than ``age`` have come (``None``: nothing to go by). At a
    dense age the poll waits what ``interval`` asks at this age had it paced the task from
    its start (:func:`rhythm_at`), cut to ``half_ended`` like any other jump, and never less
    than ``delay``; from a sparse age it moves to the stretch's end. Never later than
    ``interval.maximum`` (unless ``delay`` itself is).
    """
    rhythm = rhythm_at(interval, age)
    if half_ended is not None and half_ended - age < rhythm:
        rhythm = half_ended - age
    return placed_delay(delay if delay >= rhythm else rhythm, interval.maximum, age, sparse_until)


def hedged_delay(delay: float, initial: float, age: float, half_ended: float | None) -> float:
    """The delay to the next poll of a task whose progress estimate asked for ``delay``:
    no later than ``half_ended``, the age by which ``HEDGE`` of its kind's tasks still
    running at ``age`` have ended (``None`` while nothing is learned), and never earlier
    than the policy's ``initial``. A task whose estimate is right costs a poll more now and
    then; one that is about to fail without saying so is seen near its kind's usual end."""
    if half_ended is None:
        return delay
    cap = half_ended - age
    if cap >= delay:
        return delay
    return initial if cap < initial else cap


# Named strategies whose delay never shrinks with age (a custom one may).
_GROWING = frozenset({"constant", "exponential", "fibonacci"})


def early_end_delay(
    delay: float,
    interval: Backoff,
    age: float,
    completion: float,
    rate: float,
    ends: Sequence[float],
) -> float:
    """The delay to the next poll of a task at ``completion`` (in [0, 1]), progressing at
    ``rate`` (completion per second), whose estimate asked for ``delay``: earlier, where
    its kind's tasks that report progress were learned to end before their estimate.

    ``ends``: per 1% of completion (0 to 100), the learned weight of the kind's tasks
    whose last answer reported that completion (a completed task's is 100%), then that of
    those whose last answer did not say (``DurationModel.progress_ends``). The
    completions above ``completion`` and below 100% (the estimate's own end), up to where
    ``delay`` lands, are taken from the lowest up: the poll moves to the time ``rate``
    reaches the first one where the share of the ends still possible (those above
    ``completion``, and those that did not say) that lie at or below it, times how much
    later the aimed poll would see them, comes to half the policy's rhythm at that age (a
    task polled at its rhythm is seen half an interval after its end, on average). An end
    that did not say where counts as spread evenly over the percents from ``completion``
    to 100%: nothing says where it lies among them. Never sooner than
    ``interval.initial``; ``delay`` if no completion qualifies."""
    if not (rate > 0) or not (delay > interval.initial):
        return delay
    # bin i holds [i - 0.5, i + 0.5) %: an end there is still possible if its top is above
    start = max(0, math.floor(completion * 100 - 0.5) + 1)
    alive = sum(ends[start:])
    if not (alive > 0):
        return delay
    seen = 0.0
    initial = interval.initial
    # Those that did not say where: anywhere above it, as far as anyone knows.
    unsaid = ends[101] / (100 - start) if len(ends) > 101 and start < 100 else 0.0
    if unsaid and interval.strategy in _GROWING:
        # Spread over every percent, they make the loop below walk them all (40 us) where
        # nothing qualifies, as in most polls. The most any percent k bins on could offer
        # (every said end before 100% already behind it, the look no later than its
        # unclamped time) against the least the rhythm asks from here on, when it only grows.
        step = 1 / (100 * rate)
        said = sum(ends[start:100])
        reach = (delay - ((start + 0.5) / 100 - completion) / rate) / step
        k = min(max(0.0, (reach - 1 - said / unsaid) / 2), reach)
        most = (said + unsaid * (k + 1)) * (reach - k) * step
        if most < alive * rhythm_at(interval, age) / 2:
            return delay
    for i in range(start, 100):  # 100% is the estimate's own end; the unknown, everywhere
        weight = ends[i] + unsaid
        if not weight:
            continue
        seen += weight
        wait = ((i + 0.5) / 100 - completion) / rate
        if wait < initial:
            wait = initial
        if wait >= delay:
            break
        if seen / alive * (delay - wait) >= rhythm_at(interval, age + wait) / 2:
            return wait
    return delay
