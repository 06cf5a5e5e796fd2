"""One poll's decisions, pure: what an answer or an error means for its task, and when
the task is looked at next.

The engine hands each function what it knows (the task's state as plain values, what the
poll returned or raised, the time, the kind's learned durations, the policy, and a random
draw where jitter needs one) and applies the decision it gets back: it emits the events,
ends the task, or queues its next poll. Nothing here awaits, reads a clock or touches the
engine, so the same inputs give the same decision.

A poll is decided in the engine's order, one call per step, because the engine awaits
between them (a progress event's delivery, a watcher's hook that may end the task):

1. :func:`read_answer` (the poll answered) or :func:`read_error` (it raised): the events
   the answer or error calls for, and the task's own end or a failure that ends it;
2. :func:`poll_limit`: the policy's ``max_polls`` ends it;
3. :func:`next_look` (after an answer) or :func:`retry_look` (after a transient error):
   when the next poll is due, or that the deadline ends the task instead.

When the next poll comes is decided in this module only: :func:`next_look`,
:func:`retry_look`, :func:`first_look` (a task resumed at a known age) and the deadline's
say over each (``LAST_LOOK_LEAD``); :func:`credit` is how far a due poll may jump the
due-time order when limits bind.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs

from ._durations import DurationModel
from ._errors import PermanentError, ProtocolError, TransientError
from ._events import FailureReason
from ._phase import Phase
from ._policy import PollPolicy, next_poll_delay, retry_delay, time_to_finish
from ._schedule import (
    HEDGE,
    LATE_BUDGET,
    change_chance,
    early_end_delay,
    hedged_delay,
    no_progress_delay,
    placed_delay,
    priority_credit,
)
from ._specs import Observation

LAST_LOOK_LEAD = 0.5  # seconds before a deadline that the last poll starts


@attrs.frozen
class Ending:
    """The task ends: completed (``reason is None``) or failed for ``reason``, with
    ``message`` and the ``error`` that ended it, if one did."""

    reason: FailureReason | None
    message: str = ""
    error: BaseException | None = None


COMPLETED = Ending(None)
DEADLINE_PASSED = Ending(FailureReason.DEADLINE, "the deadline passed before the task finished")
DEADLINE_IN_FLIGHT = Ending(
    FailureReason.DEADLINE,
    "the deadline passed while a poll was in flight (for its grant or its answer)",
)
DEADLINE_ASKED = Ending(FailureReason.DEADLINE, "the server asked to wait past the task's deadline")


@attrs.frozen
class Answer:
    """What a poll's answer says. ``progress``: something changed (status, completion or
    phase): the answer becomes the task's snapshot and observation and a ``TaskProgress``
    is emitted. ``status_changed``: its status did, and the backoff's attempt count starts
    over. ``end``: the task's own end (after the progress event), or ``None``."""

    progress: bool
    status_changed: bool
    end: Ending | None = None


_SAME = Answer(False, False)
_PROGRESS = Answer(True, False)
_NEW_STATUS = Answer(True, True)


@attrs.frozen
class Failure:
    """What an error raised by a poll (or by reading its answer) means. ``transient``:
    worth a retry (``TaskRetrying``, counted as a transient error); ``errors``: the
    transient errors in a row, this one included; ``end``: the failure that ends the task
    (``FailureReason.ERROR`` for an error no kind should raise: worth a traceback)."""

    transient: bool
    errors: int
    end: Ending | None = None


class Look(NamedTuple):
    """The task's next poll: due at ``due`` (engine clock), after ``delay`` asked by the
    policy and the kind's learned durations (``due`` is earlier than ``now + delay`` only
    for the last look before the deadline), or not at all: ``end``, the deadline ends it
    now. ``base`` and ``first`` are the task's progress-rate marks after this poll (see
    :func:`next_look`).

    Made once per poll, so an immutable tuple rather than an attrs class: a frozen attrs
    instance costs about 0.6 us to build (a ``object.__setattr__`` per field), a quarter
    of the engine's own share of a poll."""

    delay: float
    due: float
    end: Ending | None = None
    base: float | None = None
    first: tuple[float, float] | None = None


_new = tuple.__new__


def read_answer(prev: Observation | None, obs: Observation, *, same: bool) -> Answer:
    """The decision on an answer read as ``obs``, the task's last observation being
    ``prev``; ``same``: the answer is the very one read last time (nothing to compare)."""
    if same:
        answer = _SAME
    elif prev is None or obs.status != prev.status:
        answer = _NEW_STATUS
    elif obs.completion != prev.completion or obs.phase is not prev.phase:
        answer = _PROGRESS
    else:
        answer = _SAME
    phase = obs.phase
    if phase is Phase.SUCCEEDED:
        return Answer(answer.progress, answer.status_changed, COMPLETED)
    if phase is Phase.FAILED:
        message = obs.message or f"the task reported {obs.status}"
        return Answer(
            answer.progress, answer.status_changed, Ending(FailureReason.REMOTE_FAILED, message)
        )
    return answer


def read_error(exc: Exception, errors: int, policy: PollPolicy) -> Failure:
    """The decision on ``exc``, raised by a poll of a task that had ``errors`` transient
    errors in a row before it."""
    if isinstance(exc, TransientError | ProtocolError):
        errors += 1
        if policy.max_retries is not None and errors > policy.max_retries:
            message = f"{errors} transient errors in a row; last: {exc}"
            return Failure(True, errors, Ending(FailureReason.RETRIES_EXHAUSTED, message, exc))
        return Failure(True, errors)
    if isinstance(exc, PermanentError):
        return Failure(False, errors, Ending(FailureReason.PERMANENT_ERROR, str(exc), exc))
    message = f"{type(exc).__name__}: {exc}"
    return Failure(False, errors, Ending(FailureReason.ERROR, message, exc))


def poll_limit(polls: int, policy: PollPolicy, error: BaseException | None) -> Ending | None:
    """The policy's ``max_polls`` ends a task not finished after ``polls`` polls; ``error``
    is the last poll's transient error, if it raised one."""
    if policy.max_polls is not None and polls >= policy.max_polls:
        return Ending(FailureReason.MAX_POLLS, f"not finished after {polls} polls", error)
    return None


def next_look(
    policy: PollPolicy,
    *,
    now: float,
    attempt: int,
    draw: float,
    completion: float | None,
    base: float | None,
    first: tuple[float, float] | None,
    durations: DurationModel | None,
    kind: str,
    age: float | None,
    deadline: float | None,
) -> Look:
    """The next poll of a task whose answer at ``now`` did not end it.

    ``attempt``: polls since its status last changed (before this one's increment);
    ``draw``: uniform in [0, 1) for the interval's jitter; ``completion``: what it reported
    now; ``base`` and ``first``: its progress-rate marks, the completion first seen (or
    after progress went back) and the first ``(time, completion)`` past it, from which the
    finish is estimated; ``durations``: the learned ends of its ``kind`` (``None``: nothing
    learned is used); ``age``: seconds since the task started (``None``: not known, so the
    learned durations say nothing of it); ``deadline``: engine time, or ``None``.
    """
    latest = None
    if completion is not None:
        latest = (now, completion)
        # The rate is measured from the first observation past the starting value, so
        # time spent queued at 0% (or stuck) before the watch saw progress is not in it.
        if base is None or completion < base or (first is not None and completion < first[1]):
            base = completion  # first seen, or progress went back: start over
            first = None
        elif first is None and completion > base:
            first = latest
    delay = next_poll_delay(policy, attempt, draw, first_seen=first, latest=latest)
    if durations is not None and age is not None:
        if latest is None:
            if durations.knows(kind):
                # No progress to go by: the policy's rhythm at its age where its kind's
                # ends are likely, a jump over the stretch where they are not.
                quiet = durations.sparse_until(kind, age, LATE_BUDGET)
                half = durations.hedge_until(kind, age, HEDGE)
                delay = no_progress_delay(delay, policy.interval, age, quiet, half)
        elif first is not None and delay > policy.interval.initial:
            # A progress estimate may be wrong (a task that will fail rarely says so): it
            # does not jump past the age by which half its kind's runners have ended,
            half = durations.hedge_until(kind, age, HEDGE)
            delay = hedged_delay(delay, policy.interval.initial, age, half)
            # nor, where it pays, past a completion at which its kind's tasks were seen
            # to end before their estimate.
            ends = durations.progress_ends(kind)
            if ends is not None and completion is not None and now > first[0]:
                rate = (completion - first[1]) / (now - first[0])
                delay = early_end_delay(delay, policy.interval, age, completion, rate, ends)
    due = now + delay
    if deadline is not None and due > deadline:
        return _past_deadline(delay, now, due, deadline, honour=False, base=base, first=first)
    return _new(Look, (delay, due, None, base, first))  # Look(...) without its Python __new__


def retry_look(
    policy: PollPolicy,
    *,
    now: float,
    errors: int,
    draw: float,
    retry_after: float | None,
    deadline: float | None,
) -> Look:
    """The poll after the ``errors``-th transient error in a row at ``now``; the server's
    ``retry_after`` (seconds) is a floor, and one that reaches past the deadline ends the
    task there and then (no last look: the server asked not to be asked)."""
    delay = retry_delay(policy, errors, draw, retry_after)
    due = now + delay
    if deadline is not None and due > deadline:
        return _past_deadline(delay, now, due, deadline, honour=retry_after is not None)
    return Look(delay, due)


def _past_deadline(
    delay: float,
    now: float,
    due: float,
    deadline: float,
    *,
    honour: bool,
    base: float | None = None,
    first: tuple[float, float] | None = None,
) -> Look:
    """A poll asked for at ``due``, past ``deadline``: the task ends now if the deadline has
    passed (or, ``honour``, the wait is the server's to ask), else it gets one last look,
    early enough to be answered before the deadline cuts it off; after that look it waits
    for the deadline itself and fails there unpolled."""
    if now >= deadline:
        return Look(delay, due, DEADLINE_PASSED, base, first)
    if honour:
        return Look(delay, due, DEADLINE_ASKED, base, first)
    last = deadline - LAST_LOOK_LEAD
    return Look(delay, last if now < last else deadline, None, base, first)


def first_look(
    policy: PollPolicy,
    *,
    now: float,
    due: float,
    age: float,
    durations: DurationModel | None,
    kind: str,
    deadline: float | None,
) -> float | None:
    """A later first poll for a task of known ``age`` whose first poll is due at ``due``
    (the policy's ``first_delay`` from ``now``), or ``None`` to keep it.

    Watched at an unknown age, a task may be over already, so its first poll comes at once;
    a task known to be at a sparse age of its kind (young, before its kind's tasks start
    ending) is unlikely to have ended, so a poll there is spent on seeing it run. Placed as
    every later poll of a task without progress is (``placed_delay``: never sooner than the
    policy's ``first_delay``, never later than its ``interval.maximum``), and never past the
    deadline.
    """
    if durations is None:
        return None
    quiet = durations.sparse_until(kind, age, LATE_BUDGET)
    first = due - now
    delay = placed_delay(first, policy.interval.maximum, age, quiet)
    if delay <= first or (deadline is not None and now + delay > deadline):
        return None
    return now + delay


def credit(
    policy: PollPolicy,
    *,
    now: float,
    due: float,
    backlog: float,
    obs: Observation | None,
    seen_at: float,
    first: tuple[float, float] | None,
    durations: DurationModel | None,
    kind: str,
    watched_at: float | None,
) -> float:
    """How far a poll due at ``due`` may jump the due-time order (seconds; see
    ``_schedule``), judged at ``now`` plus the ``backlog`` (when it would start in due
    order: the credit is fixed once given). ``obs`` and ``seen_at``: its last observation
    and when it was read; ``watched_at``: when the task started (engine time), ``None``
    when not known."""
    then = now + backlog
    if obs is None:
        ended = None
        if durations is not None and watched_at is not None:
            ended = durations.chance_ended(kind, 0.0, then - watched_at)
        chance = change_chance(seen=False, waited=0.0, eta=None, ended=ended)
        return priority_credit(chance, policy.interval.initial, backlog)
    completion = obs.completion
    latest = None if completion is None else (seen_at, completion)
    eta = time_to_finish(first, latest)
    ended = None
    if eta is None and durations is not None and watched_at is not None:
        ended = durations.chance_ended(kind, seen_at - watched_at, then - watched_at)
    chance = change_chance(seen=True, waited=then - seen_at, eta=eta, ended=ended)
    return priority_credit(chance, due - seen_at, backlog)
