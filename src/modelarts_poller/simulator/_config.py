"""Simulator settings: authentication, faults, limits. Plain attrs values."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from .._errors import InvalidArgumentError

AuthMode = Literal["off", "token", "aksk", "either"]


def _probability(_inst: object, attr: Any, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidArgumentError(f"{attr.name} must be a probability in [0, 1], got {value!r}")


def _seconds(_inst: object, attr: Any, value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise InvalidArgumentError(f"{attr.name} must be a number of seconds >= 0")


@attrs.frozen
class Faults:
    """Each fault's probability per status request (they are exclusive; the sum <= 1).

    ``reset`` closes the connection without an answer; ``stall`` answers only after
    ``stall_seconds`` (or when the simulator closes); ``rate_limited`` answers 429 with
    ``Retry-After: retry_after``; ``garbage`` sends a 200 that is not JSON;
    ``wrong_types`` sends JSON with wrong field types.
    """

    server_error: float = attrs.field(default=0.0, validator=_probability)
    reset: float = attrs.field(default=0.0, validator=_probability)
    stall: float = attrs.field(default=0.0, validator=_probability)
    rate_limited: float = attrs.field(default=0.0, validator=_probability)
    garbage: float = attrs.field(default=0.0, validator=_probability)
    wrong_types: float = attrs.field(default=0.0, validator=_probability)
    stall_seconds: float = attrs.field(default=30.0, validator=_seconds)
    retry_after: float = attrs.field(default=1.0, validator=_seconds)

    def __attrs_post_init__(self) -> None:
        if self.total > 1.0 + 1e-9:
            raise InvalidArgumentError(f"fault probabilities add up to {self.total:.3f} > 1")

    @property
    def total(self) -> float:
        return (
            self.server_error
            + self.reset
            + self.stall
            + self.rate_limited
            + self.garbage
            + self.wrong_types
        )

    @classmethod
    def uniform(cls, rate: float, **kw: Any) -> Faults:
        """``rate`` of requests faulted, spread evenly over every fault type."""
        each = rate / 6
        return cls(
            server_error=each,
            reset=each,
            stall=each,
            rate_limited=each,
            garbage=each,
            wrong_types=each,
            **kw,
        )


@attrs.frozen
class SimulatorConfig:
    """How the simulator behaves. ``tokens`` and ``access_keys`` (AK -> SK) are the
    credentials it accepts; ``projects`` (if given) are the only project IDs they may
    use (others answer 403). ``rate_limit`` caps status requests per second (429 past
    it). ``latency`` delays every answer."""

    auth: AuthMode = "off"
    tokens: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset, repr=False)
    access_keys: dict[str, str] = attrs.field(factory=dict, repr=False)
    users: dict[str, str] = attrs.field(factory=dict, repr=False)  # IAM user -> password
    token_lifetime: float = attrs.field(default=86_400.0, validator=_seconds)
    projects: frozenset[str] | None = None
    faults: Faults = Faults()
    rate_limit: float | None = None
    latency: float = attrs.field(default=0.0, validator=_seconds)
    seed: int | None = None
    max_skew: float = 900.0

    def __attrs_post_init__(self) -> None:
        if self.auth not in ("off", "token", "aksk", "either"):
            raise InvalidArgumentError(
                f"auth must be 'off', 'token', 'aksk' or 'either', got {self.auth!r}"
            )
