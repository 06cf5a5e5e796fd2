"""Delay strategies: pure maths from attempt number and a random draw to seconds.

A :class:`Backoff` materialises its strategy once, at construction, into a short tuple
of raw delays (using the ``backoff`` package's generators for the named strategies), so
that each later lookup is an index and a multiply: the engine asks for one delay per
poll, for up to a million tasks, and must not keep a generator per task.
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TypeAlias

import attrs
import backoff as _backoff_lib

from ._errors import InvalidArgumentError

Jitter: TypeAlias = Literal["full", "equal", "none"]
StrategyName: TypeAlias = Literal["exponential", "fibonacci", "constant"]
# A generator factory in the style of backoff.expo (a leading None is skipped), or a
# function from the attempt number (0-based) to a delay in seconds.
Strategy: TypeAlias = StrategyName | Callable[[], Iterable[float | None]] | Callable[[int], float]

# Past this many steps the last delay repeats; every named strategy reaches its cap
# well before that for any sensible initial/maximum.
MAX_STEPS = 64


def _positive(name: str) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(_inst: object, _attr: attrs.Attribute[float], value: float) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidArgumentError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise InvalidArgumentError(f"{name} must be a finite number >= 0, got {value!r}")

    return check


def _raw_steps(strategy: Strategy, initial: float, factor: float) -> Iterator[float | None]:
    if strategy == "exponential":
        return iter(_backoff_lib.expo(base=factor, factor=initial))
    if strategy == "fibonacci":
        return (None if v is None else v * initial for v in _backoff_lib.fibo())
    if strategy == "constant":
        # One step is enough: the last step repeats for ever.
        return itertools.islice(_backoff_lib.constant(interval=[initial]), 2)
    if isinstance(strategy, str) or not callable(strategy):
        raise InvalidArgumentError(
            "strategy must be 'exponential', 'fibonacci', 'constant', a generator factory "
            f"or a function of the attempt number, got {strategy!r}"
        )
    if _takes_attempt(strategy):
        fn: Callable[[int], float] = strategy  # type: ignore[assignment]
        return (fn(n) for n in itertools.count())
    return iter(strategy())  # type: ignore[arg-type, call-arg]


def _takes_attempt(fn: Callable[..., object]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params
    )


def _materialise(
    strategy: Strategy, initial: float, maximum: float, factor: float
) -> tuple[float, ...]:
    steps: list[float] = []
    try:
        for raw in _raw_steps(strategy, initial, factor):
            if raw is None:  # backoff's generators yield None first, to be primed with send()
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
                raise InvalidArgumentError(
                    f"strategy produced a delay that is not a number: {raw!r}"
                )
            value = min(max(float(raw), 0.0), float(maximum))
            steps.append(value)
            if value >= maximum or len(steps) >= MAX_STEPS:
                break
    except InvalidArgumentError:
        raise
    except Exception as exc:  # the caller's strategy raised: name it, keep the cause
        raise InvalidArgumentError(
            f"strategy raised {type(exc).__name__} while computing delays: {exc}"
        ) from exc
    if not steps:
        raise InvalidArgumentError("strategy produced no delays")
    return tuple(steps)


@attrs.frozen
class Backoff:
    """How long to wait before attempt ``n`` (0-based), before jitter.

    ``initial`` is the first delay, ``maximum`` caps every delay, ``factor`` is the
    exponential base. ``jitter`` spreads delays so that many pollers do not move in
    step: ``"full"`` draws from [0, d], ``"equal"`` from [d/2, d], ``"none"`` uses d.
    """

    initial: float = attrs.field(default=1.0, validator=_positive("initial"))
    maximum: float = attrs.field(default=60.0, validator=_positive("maximum"))
    strategy: Strategy = "exponential"
    factor: float = attrs.field(default=2.0, validator=_positive("factor"))
    jitter: Jitter = "equal"
    _steps: tuple[float, ...] = attrs.field(init=False, repr=False, eq=False)
    _ends: tuple[float, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.maximum < self.initial:
            raise InvalidArgumentError(
                f"maximum ({self.maximum}) must be >= initial ({self.initial})"
            )
        if self.jitter not in ("full", "equal", "none"):
            raise InvalidArgumentError(
                f"jitter must be 'full', 'equal' or 'none', got {self.jitter!r}"
            )
        steps = _materialise(self.strategy, self.initial, self.maximum, self.factor)
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_ends", tuple(itertools.accumulate(steps)))

    def base_delay(self, attempt: int) -> float:
        """The delay before attempt ``attempt`` without jitter."""
        steps = self._steps
        return steps[attempt] if 0 <= attempt < len(steps) else steps[-1]

    def delay_at(self, elapsed: float) -> float:
        """The delay (before jitter) of the step reached ``elapsed`` seconds into a watch
        paced by this backoff from its start: the first step that ends past ``elapsed``."""
        steps = self._steps
        i = bisect.bisect_right(self._ends, elapsed)
        return steps[i] if i < len(steps) else steps[-1]

    def delay(self, attempt: int, draw: float) -> float:
        """The jittered delay before attempt ``attempt``; ``draw`` is uniform in [0, 1)."""
        d = self.base_delay(attempt)
        jitter = self.jitter
        if jitter == "equal":
            return d * (0.5 + 0.5 * draw)
        if jitter == "full":
            return d * draw
        return d
