"""Saving and resuming the engine's tasks: a task's continuation token, and watching a
task again from a token or from the checkpoint, with its poll count, backoff position,
deadline and age carried over.

:class:`Resuming` is a base class of :class:`~modelarts_poller._engine.Engine`, which
owns the state declared here (it sets all of it in ``Engine.__init__``) and ``watch``;
a token is built from the task's record in its :class:`TaskHandle` (``encode_token``,
``decode_token`` and the checkpoint file itself are ``_checkpoint.py``). The checkpoint
is opened, filled and closed by the engine's lifecycle; what is resumed from it is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._checkpoint import Checkpoint, SpecFactory, TaskState, decode_token, encode_token
from ._clock import Clock
from ._durations import DurationModel
from ._errors import InvalidArgumentError
from ._handle import TaskHandle
from ._phase import Phase
from ._policy import PollPolicy
from ._schedule import Scheduler
from ._specs import Observation, TaskSpec
from ._step import first_look


class Resuming:
    """Tokens, ``watch_token`` and ``resume``, as methods of the engine."""

    _clock: Clock
    _wall: Callable[[], float]
    _checkpoint: Checkpoint | None
    _durations: DurationModel | None
    _policy: PollPolicy
    _kind_policies: dict[str, PollPolicy]
    _tasks: dict[TaskSpec[Any], TaskHandle]
    _sched: Scheduler[TaskHandle]
    _deadline_wake: float

    if TYPE_CHECKING:  # the engine's own

        def watch(self, spec: TaskSpec[Any], *, policy: PollPolicy | None = None) -> TaskHandle: ...

        def _wake_dispatcher(self) -> None: ...

    def token(self, handle: TaskHandle) -> str:
        """A continuation token for ``handle``: pass it to :meth:`watch_token`, in this
        process or another, to go on watching the same task."""
        deadline_at = None
        if handle._deadline is not None:
            deadline_at = self._wall() + (handle._deadline - self._clock.now())
        status = handle._obs.status if handle._obs is not None else None
        # A task watched from its start keeps its age: learned durations go on counting it.
        started_at = None
        if handle._fresh:
            started_at = self._wall() - (self._clock.now() - handle._watched_at)
        state = TaskState(
            handle._polls,
            status,
            deadline_at,
            handle._attempt,
            handle._errors,
            started_at,
            handle._policy.at_deadline,
        )
        return encode_token(handle.spec, state)

    def watch_token(
        self,
        token: str,
        *,
        kinds: Mapping[str, SpecFactory] | None = None,
        policy: PollPolicy | None = None,
    ) -> TaskHandle:
        """Watch the task a continuation token names, keeping its deadline and poll count.
        ``kinds`` maps custom kind names to their spec classes."""
        spec, state = decode_token(token, kinds)
        return self._restore(spec, state, policy)

    def resume(self, *, policy: PollPolicy | None = None) -> list[TaskHandle]:
        """Watch again every task the checkpoint holds whose end was never reported."""
        if self._checkpoint is None:
            raise InvalidArgumentError("resume() needs Engine(checkpoint=Checkpoint(path))")
        return [self._restore(spec, state, policy) for spec, state in self._checkpoint.unfinished()]

    def _restore(
        self, spec: TaskSpec[Any], state: TaskState, policy: PollPolicy | None
    ) -> TaskHandle:
        known = self._tasks.get(spec)
        if policy is None and known is None and state.at_deadline != "leave":
            # The token's choice of what its deadline does, on the policy it is watched by.
            chosen = self._kind_policies.get(spec.kind, self._policy)
            policy = attrs.evolve(chosen, at_deadline=state.at_deadline)
        handle = self.watch(spec, policy=policy)
        if known is None:
            handle._polls = state.polls
            handle._attempt = state.attempt
            handle._errors = state.errors
            if state.status is not None:
                # The last status seen, so that seeing it again keeps the backoff position.
                handle._obs = Observation(Phase.UNKNOWN, None, state.status)
            if state.deadline_at is not None:
                self._set_deadline(handle, self._clock.now() + (state.deadline_at - self._wall()))
            if state.started_at is None:
                handle._fresh = False  # its age is not known: nothing to learn or place by it
            else:
                # Watched from its start elsewhere (or by an operator that just started it):
                # its age goes on from there. A start in the future (clock skew) is age 0.
                age = max(0.0, self._wall() - state.started_at)
                now = self._clock.now()
                handle._watched_at = now - age
                self._skip_quiet(handle, now, age)
        return handle

    def _set_deadline(self, handle: TaskHandle, deadline: float) -> None:
        handle._deadline = deadline
        self._sched.add_deadline(handle)
        if deadline < self._deadline_wake:
            self._wake_dispatcher()

    def _skip_quiet(self, handle: TaskHandle, now: float, age: float) -> None:
        """Move the first poll of a task of known age past the sparse stretch holding it
        (``_step.first_look``)."""
        due = first_look(
            handle._policy,
            now=now,
            due=handle._due,
            age=age,
            durations=self._durations,
            kind=handle.spec.kind,
            deadline=handle._deadline,
        )
        if due is not None:
            self._sched.push(handle, due)  # the entry watch() pushed goes stale
