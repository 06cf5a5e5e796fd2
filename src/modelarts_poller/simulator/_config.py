"""Simulator settings: authentication, faults, limits. Plain attrs values."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from .._errors import InvalidArgumentError

AuthMode = Literal["off", "token", "aksk", "either"]
QuotaWindow = Literal["second", "minute", "hour", "day"]


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

    ``server_error`` answers 500 ``ModelArts.0010`` or 503 ``ModelArts.4302``; ``reset``
    closes the connection without an answer; ``stall`` answers only after
    ``stall_seconds`` (or when the simulator closes); ``rate_limited`` answers 429
    ``APIGW.0308`` with ``Retry-After: retry_after``; ``garbage`` sends a 200 that is not
    JSON; ``wrong_types`` sends JSON with wrong field types.
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
    use (others answer 403). ``quota`` admits that many ModelArts requests per project in
    each ``quota_window`` (429 ``APIGW.0308`` past it) and advertises itself in the
    ``X-ratelimit*`` headers of every answer; ``rate_limit=R`` is the older spelling of
    ``quota=int(R)`` per second. ``latency`` delays every answer. ``version_interval``
    is how soon (seconds) another version of a dataset may be created (400
    ``ModelArts.4370`` sooner; 0 turns the check off). ``region_projects`` (region name ->
    project ID) is what IAM's ``GET /v3/projects?name=<region>`` answers."""

    auth: AuthMode = "off"
    tokens: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset, repr=False)
    access_keys: dict[str, str] = attrs.field(factory=dict, repr=False)
    users: dict[str, str] = attrs.field(factory=dict, repr=False)  # IAM user -> password
    token_lifetime: float = attrs.field(default=86_400.0, validator=_seconds)
    projects: frozenset[str] | None = None
    region_projects: dict[str, str] = attrs.field(factory=dict)
    faults: Faults = Faults()
    rate_limit: float | None = None
    quota: int | None = None
    quota_window: QuotaWindow = "second"
    version_interval: float = attrs.field(default=60.0, validator=_seconds)
    latency: float = attrs.field(default=0.0, validator=_seconds)
    seed: int | None = None
    max_skew: float = 900.0

    def __attrs_post_init__(self) -> None:
        if self.auth not in ("off", "token", "aksk", "either"):
            raise InvalidArgumentError(
                f"auth must be 'off', 'token', 'aksk' or 'either', got {self.auth!r}"
            )
        if self.quota is not None and (
            isinstance(self.quota, bool) or not isinstance(self.quota, int) or self.quota < 1
        ):
            raise InvalidArgumentError(f"quota must be an int >= 1, got {self.quota!r}")
        if self.rate_limit is not None:
            r = self.rate_limit
            if (
                isinstance(r, bool)
                or not isinstance(r, int | float)
                or not math.isfinite(r)
                or r < 1
            ):
                raise InvalidArgumentError(f"rate_limit must be a number >= 1, got {r!r}")
            if self.quota is not None:
                raise InvalidArgumentError("give quota or rate_limit (its older name), not both")
        if self.quota_window not in ("second", "minute", "hour", "day"):
            raise InvalidArgumentError(
                "quota_window must be 'second', 'minute', 'hour' or 'day', "
                f"got {self.quota_window!r}"
            )

    @property
    def effective_quota(self) -> int | None:
        """The quota in force: ``quota``, or ``int(rate_limit)`` when only that is given."""
        if self.quota is not None:
            return self.quota
        return None if self.rate_limit is None else int(self.rate_limit)
