import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import InvalidArgumentError
from modelarts_poller._validate import check_id


@pytest.mark.parametrize(
    "bad",
    ["", "a/b", "..", "a..b", "a b", "a\tb", "a\nb", "\x00", "a\x7f", "a\\b", "\u2028"],
)
def test_bad_ids_are_rejected_naming_the_argument(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="dataset_id"):
        check_id("dataset_id", bad)


def test_non_str_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="task_id must be a str"):
        check_id("task_id", 42)


def test_invalid_argument_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="project_id"):
        check_id("project_id", "")


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1))
def test_plain_ids_pass_unchanged(value: str) -> None:
    assert check_id("x", value) == value


def test_every_whitespace_and_control_code_point_is_refused_and_no_other() -> None:
    refused = []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        try:
            check_id("task_id", f"a{ch}b")
        except InvalidArgumentError:
            refused.append(ch)
    expected = [
        chr(cp)
        for cp in range(sys.maxunicode + 1)
        if chr(cp).isspace()
        or cp < 0x20
        or cp == 0x7F
        or not chr(cp).isprintable()
        or chr(cp) in "/\\"
    ]
    assert refused == expected
