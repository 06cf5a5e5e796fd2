"""The test tiers: the default run leaves the slow tier out, --run-slow adds it, and every
test under tests/process is in it; running them leaves this run's Hypothesis profile as it
was; a test's own Hypothesis budget (tests/budget.py) follows the profile. Run on a small
suite with the real conftest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
SUITE = {
    "test_fast.py": "def test_fast():\n    pass\n",
    "test_marked.py": "import pytest\n\n\n@pytest.mark.slow\ndef test_marked():\n    pass\n",
    "process/test_spawns.py": "def test_spawns():\n    pass\n",
}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    slow: the slow tier\n")
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    for name, text in SUITE.items():
        path = pytester.path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Only what the tiers need: other plugins cost seconds per run and play no part.
    off = ("cacheprovider", "hypothesispytest", "anyio", "asyncio")
    # The conftest loads its Hypothesis profile in this process: put this run's back.
    profile = settings.get_current_profile_name()
    try:
        return suite.runpytest_inprocess(*(f"-pno:{name}" for name in off), "-v", *args)
    finally:
        settings.load_profile(profile)


def test_the_default_run_is_the_fast_tier(suite: pytest.Pytester) -> None:
    result = run(suite)
    result.assert_outcomes(passed=1, deselected=2)
    assert any(line.startswith("test_fast.py::test_fast PASSED") for line in result.outlines)


def test_run_slow_runs_every_tier(suite: pytest.Pytester) -> None:
    run(suite, "--run-slow").assert_outcomes(passed=3)


def test_the_hypothesis_profile_of_this_run_is_kept(suite: pytest.Pytester) -> None:
    before = settings.get_current_profile_name()
    settings.load_profile("ci")
    try:
        run(suite)
        assert settings.get_current_profile_name() == "ci"
    finally:
        settings.load_profile(before)


def test_run_slow_with_m_slow_runs_only_the_slow_tier(suite: pytest.Pytester) -> None:
    result = run(suite, "--run-slow", "-m", "slow")
    result.assert_outcomes(passed=2, deselected=1)
    passed = {line.split("::")[0] for line in result.outlines if line.endswith("]")}
    assert passed == {"test_marked.py", "process/test_spawns.py"}


def test_a_tests_own_budget_holds_in_ci_and_is_halved_in_a_developers_run() -> None:
    from tests.budget import examples

    before = settings.get_current_profile_name()
    try:
        settings.load_profile("ci")
        assert examples(150) == 150
        settings.load_profile("dev")
        assert (examples(150), examples(25), examples(1)) == (75, 12, 1)
    finally:
        settings.load_profile(before)
