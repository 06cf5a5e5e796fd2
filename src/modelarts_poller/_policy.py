"""Polling policy and the pure decision of when to poll next."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from ._backoff import Backoff
from ._errors import InvalidArgumentError


def _opt_positive(_inst: object, attr: Any, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{attr.name} must be a number or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{attr.name} must be > 0, got {value!r}")


def _opt_count(_inst: object, attr: Any, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{attr.name} must be an int >= 0 or None, got {value!r}")


def _opt_polls(_inst: object, attr: Any, value: object) -> None:
    # The first poll is always made: a limit of 0 polls could not be kept.
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{attr.name} must be an int >= 1 or None, got {value!r}")


def _bool(_inst: object, attr: Any, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{attr.name} must be True or False, got {value!r}")


@attrs.frozen
class PollPolicy:
    """How one task is polled.

    ``interval`` spaces polls of a task that is not finished; its attempt count restarts
    whenever the task's status changes. ``retry`` spaces polls after a transient error,
    and ``max_retries`` consecutive transient errors fail the task. ``deadline`` (seconds
    after the watch starts) and ``max_polls`` bound the whole watch. With
    ``progress_aware``, a task that reports progress is next polled near its estimated
    finish, within ``interval``'s initial and maximum delays.

    ``at_deadline`` says what happens to the remote task when ``deadline`` passes:
    ``"leave"`` (the default) leaves it running; ``"stop"`` sends its kind's stop call
    (through the rate limit, with ``retry``'s retries) and ends the watch once the call
    is answered, with a ``DEADLINE`` :class:`TaskFailed` whose message says whether the
    stop was sent (its ``error`` is the stop's failure, if it failed). A kind without a
    stop call is left running, and the message says so.
    """

    interval: Backoff = Backoff(initial=1.0, maximum=30.0)
    retry: Backoff = Backoff(initial=0.5, maximum=30.0, jitter="full")
    max_retries: int | None = attrs.field(default=8, validator=_opt_count)
    deadline: float | None = attrs.field(default=None, validator=_opt_positive)
    max_polls: int | None = attrs.field(default=None, validator=_opt_polls)
    progress_aware: bool = attrs.field(default=True, validator=_bool)
    first_delay: float = attrs.field(default=0.0)
    at_deadline: Literal["leave", "stop"] = attrs.field(default="leave")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.interval, Backoff):
            raise InvalidArgumentError(f"interval must be a Backoff, got {self.interval!r}")
        if not isinstance(self.retry, Backoff):
            raise InvalidArgumentError(f"retry must be a Backoff, got {self.retry!r}")
        fd = self.first_delay
        if isinstance(fd, bool) or not isinstance(fd, int | float) or not 0 <= fd < math.inf:
            raise InvalidArgumentError(f"first_delay must be a finite number >= 0, got {fd!r}")
        if self.at_deadline not in AT_DEADLINE:
            raise InvalidArgumentError(
                f"at_deadline must be 'leave' or 'stop', got {self.at_deadline!r}"
            )


AT_DEADLINE = ("leave", "stop")

# A poll aimed exactly at the estimated finish lands just before it half the time and
# costs one more poll; 3% later costs little delay.
ETA_MARGIN = 1.03


def time_to_finish(
    first_seen: tuple[float, float] | None, latest: tuple[float, float] | None
) -> float | None:
    """Seconds from ``latest`` to the finish, at the average rate since ``first_seen``
    (both ``(time, completion)``), or ``None`` without progress between them."""
    if first_seen is None or latest is None:
        return None
    t0, c0 = first_seen
    t1, c1 = latest
    if c1 <= c0 or t1 <= t0:
        return None
    return (1.0 - c1) * (t1 - t0) / (c1 - c0)


def next_poll_delay(
    policy: PollPolicy,
    attempt: int,
    draw: float,
    *,
    first_seen: tuple[float, float] | None,
    latest: tuple[float, float] | None,
) -> float:
    """Seconds until the next poll of a task that is not finished.

    ``attempt`` counts polls since the status last changed. ``first_seen`` and
    ``latest`` are ``(time, completion)`` pairs; when both are known and progress was
    made, the finish is estimated from the average rate since ``first_seen`` and the
    next poll aims a little past it, within the interval's initial and maximum delays.
    """
    delay = policy.interval.delay(attempt, draw)
    if not policy.progress_aware:
        return delay
    remaining = time_to_finish(first_seen, latest)
    if remaining is None:
        return delay
    eta = remaining * ETA_MARGIN
    lo = policy.interval.initial
    hi = policy.interval.maximum
    return lo if eta < lo else hi if eta > hi else eta


def rhythm_at(interval: Backoff, age: float) -> float:
    """The delay ``interval`` asks for (before jitter) at ``age`` seconds into a watch that
    it has paced from the start (:meth:`Backoff.delay_at`). A constant interval asks the
    same at every age; a growing one asks more of an older task, whatever restarted its
    attempt count."""
    return interval.delay_at(age)


def retry_delay(policy: PollPolicy, errors: int, draw: float, retry_after: float | None) -> float:
    """Seconds until the poll after the ``errors``-th consecutive transient error.

    The server's ``Retry-After`` is a floor: the engine never comes back sooner.
    """
    delay = policy.retry.delay(errors - 1, draw)
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay
