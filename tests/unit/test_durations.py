"""The learned duration model: its maths, its persistence, and its bad inputs."""

from __future__ import annotations

import json
import math
import random
import statistics

import hypothesis.strategies as st
import pytest
from hypothesis import example, given, settings

from modelarts_poller import DurationModel, InvalidArgumentError
from modelarts_poller._durations import HALF_LIFE_WEIGHT, MIN_SAMPLES
from tests.budget import examples

durations = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200)


@given(durations, st.floats(0, 1e6), st.floats(0, 1e6))
def test_ended_by_is_a_distribution_function(values: list[float], a: float, b: float) -> None:
    model = DurationModel()
    model.seed("k", values)
    lo, hi = sorted((a, b))
    assert 0.0 <= model.ended_by("k", lo) <= model.ended_by("k", hi) <= 1.0
    assert model.ended_by("k", 3e7) == pytest.approx(1.0)


@settings(max_examples=examples(100))
@given(durations, st.floats(0, 1e5), st.floats(0.001, 0.5))
def test_quiet_until_holds_at_most_the_budget(
    values: list[float], age: float, budget: float
) -> None:
    model = DurationModel()
    model.seed("k", values * (MIN_SAMPLES // len(values) + 1))
    quiet = model.quiet_until("k", age, budget)
    beyond = (1.0 - model.ended_by("k", age)) * model.samples("k")
    if beyond < MIN_SAMPLES:  # too few ends later than this age: nothing to say there
        assert quiet is None
        return
    assert quiet is not None
    assert quiet >= age
    chance = model.chance_ended("k", age, quiet)
    assert chance is not None
    if age < quiet < float("inf"):  # quiet == age: older than anything seen, no stretch
        assert chance <= budget + 1e-6


def test_a_kind_is_used_only_once_it_has_enough_ends() -> None:
    model = DurationModel()
    model.seed("k", [10.0] * (MIN_SAMPLES - 1))
    assert model.chance_ended("k", 0.0, 20.0) is None
    assert model.quiet_until("k", 0.0, 0.02) is None
    model.record("k", 10.0)
    assert model.chance_ended("k", 0.0, 20.0) == pytest.approx(1.0)
    assert model.chance_ended("k", 0.0, 5.0) == pytest.approx(0.0)
    assert model.quiet_until("k", 0.0, 0.02) == pytest.approx(9.5, rel=0.2)


def test_quiet_until_finds_where_a_lognormal_kind_starts_ending() -> None:
    rnd = random.Random(1)
    model = DurationModel()
    model.seed("train", [rnd.lognormvariate(5.0, 0.3) for _ in range(2000)])  # about 150 s
    quiet = model.quiet_until("train", 0.0, 0.02)
    assert quiet is not None
    assert 70 < quiet < 110  # the 2% quantile of lognormal(5, 0.3) is about 80 s


def test_old_ends_fade_so_a_changed_kind_is_followed() -> None:
    model = DurationModel()
    model.seed("k", [1.0] * int(HALF_LIFE_WEIGHT))
    model.seed("k", [100.0] * int(HALF_LIFE_WEIGHT))
    assert model.samples("k") <= HALF_LIFE_WEIGHT
    assert model.ended_by("k", 10.0) < 0.4  # most of the weight is the new, long runs


def test_round_trip_through_json() -> None:
    model = DurationModel()
    model.seed("a", [1.0, 2.0, 30.0])
    model.seed("b", [500.0])
    back = DurationModel.from_json(json.loads(json.dumps(model.to_json())))
    assert back.kinds() == ("a", "b")
    for t in (0.5, 1.5, 10.0, 600.0):
        assert back.ended_by("a", t) == model.ended_by("a", t)
    assert back.samples("b") == 1.0


def test_where_tasks_that_report_progress_end_is_learned_and_kept() -> None:
    model = DurationModel()
    for i in range(MIN_SAMPLES - 1):
        model.record_progress_end("k", 0.6 if i % 10 == 0 else 1.0)
    assert model.progress_ends("k") is None  # fewer than MIN_SAMPLES ends
    model.record_progress_end("k", 0.596)  # 59.5% to 60.5% share a bin
    model.record_progress_end("k", 1.5)  # not a completion: nothing learned
    ends = model.progress_ends("k")
    assert ends is not None
    assert len(ends) == 102
    assert (ends[60], ends[100], sum(ends)) == (3.0, 17.0, 20.0)
    model.record_progress_end("k", None)  # a failed answer that did not say where
    assert (ends[101], sum(ends)) == (1.0, 21.0)
    back = DurationModel.from_json(json.dumps(model.to_json()))
    assert back.progress_ends("k") == ends
    assert back.kinds() == ()  # no durations were recorded
    old = DurationModel.from_json({"version": 1, "kinds": {}})  # saved before they were
    assert old.progress_ends("k") is None


def test_where_tasks_end_in_their_progress_fades_like_their_durations() -> None:
    model = DurationModel()
    for _ in range(int(HALF_LIFE_WEIGHT) + 1):
        model.record_progress_end("k", 1.0)
    ends = model.progress_ends("k")
    assert ends is not None
    assert sum(ends) <= HALF_LIFE_WEIGHT


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 2, "kinds": {}},
        {"version": 1, "kinds": {}, "progress_ends": {"a": {"102": 1}}},
        {"version": 1, "kinds": {}, "progress_ends": {"a": {"60": -1}}},
        {"version": 1, "kinds": {}, "progress_ends": ["a"]},
        {"version": 1, "kinds": {"a": {"999": 1}}},
        {"version": 1, "kinds": {"a": {"1": -1}}},
        {"version": 1, "kinds": {"a": {"1": "x"}}},
        {"version": 1, "kinds": {"a": {"1": float("nan")}}},
        {"version": 1, "kinds": ["a"]},
    ],
)
def test_from_json_names_what_is_wrong(data: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError, match="not a duration model"):
        DurationModel.from_json(data)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "3", True, None])
def test_seed_refuses_what_is_not_a_duration(bad: object) -> None:
    model = DurationModel()
    with pytest.raises(InvalidArgumentError, match="durations must be"):
        model.seed("k", [1.0, bad])  # type: ignore[list-item]
    assert model.samples("k") == 0.0  # all or nothing


def test_seed_refuses_a_kind_that_is_not_a_name() -> None:
    with pytest.raises(InvalidArgumentError, match="kind"):
        DurationModel().seed("", [1.0])


def test_record_ignores_a_clock_that_went_back() -> None:
    model = DurationModel()
    model.record("k", -5.0)
    model.record("k", float("nan"))
    assert model.samples("k") == 0.0
    assert "empty" in repr(model)


def test_past_the_learned_ends_the_model_claims_no_quiet_stretch() -> None:
    # All tasks start together; the first 40 ends are the short ones (10-20 s). A task still
    # running at 25 s is older than every end learned: the model must not say that half of
    # such tasks end within a moment (it said "by now", which made the engine poll a long
    # task at the interval's initial delay on every poll).
    model = DurationModel()
    model.seed("k", [10.0 + i * 0.25 for i in range(40)])
    assert model.quiet_until("k", 25.0, 0.5) is None
    assert model.quiet_until("k", 19.0, 0.5) is None  # only 4 of the 40 ends came later
    middle = model.quiet_until("k", 12.0, 0.5)  # 32 ends later than 12 s: known there
    assert middle is not None
    assert 12.0 < middle < 20.0


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
BINS_LIKE = st.one_of(
    st.dictionaries(
        st.text(max_size=5),
        st.one_of(
            st.dictionaries(
                st.one_of(st.integers(-5, 300).map(str), st.text(max_size=4)),
                JSON_VALUES,
                max_size=5,
            ),
            JSON_VALUES,
        ),
        max_size=3,
    ),
    JSON_VALUES,
)
MODEL_LIKE = st.fixed_dictionaries(
    {
        "version": st.sampled_from([1, 1.0, True, "1", 2]),
        "kinds": BINS_LIKE,
    },
    optional={"progress_ends": BINS_LIKE},
)
DEEP = "[" * 200_000 + "]" * 200_000
HUGE = '{"version": 1, "kinds": {"a": {"1": 1' + "0" * 400 + "}}}"


def _read(data: object) -> DurationModel | None:
    try:
        model = DurationModel.from_json(data)  # type: ignore[arg-type]
    except InvalidArgumentError as exc:
        refused = str(exc)
        assert refused.startswith("not a duration model")
        return None
    for kind in model.kinds():  # what it returns is a model that works
        assert 0.0 <= model.ended_by(kind, 10.0) <= 1.0
        model.quiet_until(kind, 1.0, 0.25)
    if isinstance(data, dict) and isinstance(data.get("progress_ends"), dict):
        for kind in data["progress_ends"]:
            ends = model.progress_ends(kind)
            assert ends is None or len(ends) == 102
    return model


@given(st.one_of(st.text(), st.binary(max_size=50), JSON_VALUES, MODEL_LIKE))
@example(DEEP)
@example(json.loads(HUGE))
@settings(max_examples=examples(300), deadline=None)
def test_from_json_returns_a_model_or_refuses_whatever_it_is_given(data: object) -> None:
    """Issue 23: a 401-digit count raised OverflowError and deep nesting RecursionError."""
    _read(data)
    if not isinstance(data, str | bytes):
        _read(json.dumps(data))  # and the same as text


@pytest.mark.parametrize("text", [DEEP, HUGE, HUGE.replace("1" + "0" * 400, "-1" + "0" * 400)])
def test_from_json_refuses_unreadable_text_with_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="not a duration model"):
        DurationModel.from_json(text)
    with pytest.raises(InvalidArgumentError, match="not a duration model"):
        DurationModel.from_json(
            json.loads(text) if text is not DEEP else {"version": 1, "kinds": [[[]]]}
        )


# -- where a task without progress is polled: dense and sparse ages ----------------------


def _model(values: list[float]) -> DurationModel:
    model = DurationModel()
    model.seed("k", values * (MIN_SAMPLES // len(values) + 1))
    return model


@settings(max_examples=examples(100))
@given(durations, st.floats(0.0, 0.2))
def test_the_ends_learned_in_sparse_ages_weigh_at_most_the_budget(
    values: list[float], budget: float
) -> None:
    model = _model(values)
    learned = values * (MIN_SAMPLES // len(values) + 1)
    late = [v for v in learned if model.sparse_until("k", v, budget) is not None]
    assert len(late) <= budget * len(learned) + 1e-9


@settings(max_examples=examples(100))
@given(durations, st.floats(0.0, 2e6), st.floats(0.0, 0.2))
def test_a_sparse_stretch_ends_at_a_dense_age_past_the_task_s(
    values: list[float], age: float, budget: float
) -> None:
    model = _model(values)
    until = model.sparse_until("k", age, budget)
    if until is None:
        return
    assert until > age
    # the stretch ends where ends are likely (a hair past the bin edge it returns)
    assert model.sparse_until("k", until * (1 + 1e-9), budget) is None
    assert until <= max(values) * 1.1  # never past the last learned end's bin


@settings(max_examples=examples(100))
@given(durations, st.floats(0.0, 0.2))
def test_ages_past_every_learned_end_are_dense(values: list[float], budget: float) -> None:
    model = _model(values)
    assert model.sparse_until("k", max(values) * 1.2 + 1.0, budget) is None


@settings(max_examples=examples(100))
@given(
    durations,
    st.floats(0.0, 1e6),
    st.floats(0.01, 100.0),
    st.floats(0.01, 1e4),
    st.floats(0.0, 0.2),
)
def test_a_no_progress_poll_is_placed_within_the_policys_bounds_and_deterministically(
    values: list[float], age: float, delay: float, maximum: float, budget: float
) -> None:
    from modelarts_poller._schedule import placed_delay

    maximum = max(maximum, delay)  # a Backoff's delay never exceeds its maximum
    placed = [
        placed_delay(delay, maximum, age, m.sparse_until("k", age, budget))
        for m in (_model(values), _model(values), DurationModel.from_json(_model(values).to_json()))
    ]
    assert placed[0] == placed[1] == placed[2]  # the same learned ends, the same poll
    assert delay <= placed[0] <= maximum


def test_a_lognormal_kind_is_dense_from_where_its_ends_become_likely() -> None:
    rnd = random.Random(3)
    model = DurationModel()
    ends = sorted(100.0 * rnd.lognormvariate(0.0, 0.4) for _ in range(1000))
    model.seed("k", ends)
    start = model.sparse_until("k", 0.0, 0.02)
    assert start is not None
    assert ends[5] <= start <= ends[20] * 1.1  # about the 2% quantile, within a bin
    assert all(model.sparse_until("k", a, 0.02) is None for a in (ends[100], 100.0, ends[-1]))
    # No budget: the stretch stops below the first learned end, where an end not yet seen
    # may come (the next end comes before all 1,000 learned with chance 1/1,001).
    none = model.sparse_until("k", 0.0, 0.0)
    assert none is not None
    assert ends[0] * 0.5 < none < ends[0]
    assert model.sparse_until("unknown", 0.0, 0.02) is None


@pytest.mark.parametrize("learned", [30, 60, 200])
@pytest.mark.parametrize("sigma", [0.4, 1.0])
def test_the_share_of_new_tasks_ending_in_sparse_ages_is_about_the_budget(
    learned: int, sigma: float
) -> None:
    # The docs' promise: about 2% of a kind's tasks end in its sparse ages (and are seen
    # late). Measured against the true distribution the ends were drawn from, over many
    # learned samples: ages below the first learned end and gaps between few, spread-out
    # ends are not free (they held 4% to 20% of new ends before they were costed).
    rnd = random.Random(learned * 10 + int(sigma * 10))
    mu = math.log(100.0)

    def true_cdf(x: float) -> float:
        return 0.5 * (1 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2)))) if x else 0.0

    shares = []
    for _ in range(60):
        model = DurationModel()
        model.seed("k", [math.exp(rnd.gauss(mu, sigma)) for _ in range(learned)])
        share, age = 0.0, 0.0
        while age < 1e4:
            until = model.sparse_until("k", age, 0.02)
            if until is None:
                age = age * 1.01 + 0.01
                continue
            share += true_cdf(until) - true_cdf(age)
            age = until * (1 + 1e-9)
        shares.append(share)
    assert statistics.mean(shares) <= (0.04 if learned < 60 else 0.03), statistics.mean(shares)


def test_hedge_until_answers_where_few_ends_came_later_and_nothing_past_the_last() -> None:
    model = DurationModel()
    model.seed("k", [10.0 + i / 10 for i in range(40)])
    assert model.quiet_until("k", 13.0, 0.5) is None  # 9 later ends: no quiet stretch there
    half = model.hedge_until("k", 13.0, 0.5)  # but a cap on a jump
    assert half is not None
    assert 13.0 < half <= 13.6
    assert model.hedge_until("k", 100.0, 0.5) is None  # older than any: no evidence
    assert model.hedge_until("unknown", 13.0, 0.5) is None


def test_the_split_follows_what_the_kind_learns() -> None:
    model = DurationModel()
    model.seed("k", [95.0 + i / 10 for i in range(100)])
    late = model.sparse_until("k", 0.0, 0.02)
    assert late is not None
    assert 87.0 <= late <= 95.0  # nothing ends before 95 s
    model.seed("k", [10.0] * 50)  # far more than 1% new: the split is recomputed
    early = model.sparse_until("k", 0.0, 0.02)
    assert early is not None
    assert early <= 10.0
    assert model.sparse_until("k", 10.0, 0.02) is None  # where a third of its ends now are
