"""Property tests of the three parsers: only a model or ParseError ever comes out, an error's
path leads to the value it names, valid bodies round-trip, unknown keys are kept."""

from __future__ import annotations

import enum
import math
import re
import string
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    DatasetTaskStatus,
    ExportTaskStatus,
    ParseError,
    Phase,
    SyncStatus,
    parse_dataset_task_status,
    parse_export_task_status,
    parse_sync_status,
)

PARSERS = [parse_sync_status, parse_export_task_status, parse_dataset_task_status]

# Every field name the parsers know, at any level, so generated objects often hit a reader.
KNOWN = [
    "status", "task_id", "dataset_id", "add_sample_count", "deleted_sample_count",
    "total_sample_count", "create_time", "duration_time", "error_code", "error_msg",
    "progress", "finished_sample_count", "path", "export_type", "export_format",
    "export_params", "version_format", "version_id", "update_time", "clear_hard_property",
    "export_dest", "ratio_sample_usage", "sample_state", "samples", "search_conditions",
    "train_sample_ratio", "frame_in_video", "hard", "label_list", "metadata", "labels",
    "op", "name", "property", "type", "props", "result", "createDatasetSuccess",
    "createVersionSuccess", "syncOrCheckoutsuccess", "failed", "file_count",
]  # fmt: skip
# Keys without "." or "[" so an error path can be walked back into the data.
keys = st.sampled_from(KNOWN) | st.text(string.ascii_lowercase + "_", max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**1000), max_value=10**1000)  # huge, still printable
    | st.floats()  # includes nan and +-inf
    | st.text(max_size=8)
    | st.sampled_from(["12", " -3 ", "+-5", "1e3", "0.5", "nan", "inf", "RUNNING", "__ALL__"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)


def walk(data: object, path: str) -> object:
    """Follow ``a.b[2].c`` into decoded JSON."""
    for token in re.findall(r"\[\d+\]|[^.\[\]]+", path):
        if token.startswith("["):
            assert isinstance(data, list)
            data = data[int(token[1:-1])]
        else:
            assert isinstance(data, dict)
            data = data[token]
    return data


@pytest.mark.parametrize("parse", PARSERS)
@given(data=json_values | json_objects)
def test_only_a_model_or_parse_error_comes_out(parse: Any, data: object) -> None:
    try:
        model = parse(data)
    except ParseError as err:
        error: ParseError | None = err
    else:
        error = None
    if error is not None:
        # The path is honest: following it through the input finds the offending value.
        assert walk(data, error.path) is error.value
        assert str(error).startswith(f"{error.path or '<root>'}: expected ")
        return
    assert isinstance(model, SyncStatus | ExportTaskStatus | DatasetTaskStatus)
    assert model.phase in Phase
    assert model.completion is None or 0.0 <= model.completion <= 1.0
    assert model == parse(data)  # pure: the same input gives an equal model


# Whitespace drawn from ASCII and beyond: only ASCII whitespace may surround a number.
_space = st.sampled_from(["", " ", "\t", "\n", "\x1f", "\u00a0", "\u3000"])
_ASCII_SPACE = " \t\n\r\f\v"


@given(
    lead=_space,
    body=st.from_regex(r"\A[+-]{0,2}[0-9]{0,6}(\.[0-9]{0,2})?\Z")
    | st.sampled_from(["1_0", "\uff11"]),
    trail=_space,
)
def test_numeric_strings_in_integer_fields(lead: str, body: str, trail: str) -> None:
    text = lead + body + trail
    ascii_padded = not (lead + trail).strip(_ASCII_SPACE)
    if ascii_padded and re.fullmatch(r"[+-]?[0-9]+", body):
        assert parse_sync_status({"create_time": text}).create_time == int(body)
    else:
        with pytest.raises(ParseError) as info:
            parse_sync_status({"create_time": text})
        assert info.value.path == "create_time"


@given(
    lead=_space,
    body=st.from_regex(r"\A[+-]{0,2}[0-9]{0,4}(\.[0-9]{0,3})?([eE][+-]?[0-9])?\Z")
    | st.sampled_from(["1_0", "inf", "-Infinity", "nan", "\uff11", "1e999"]),
    trail=_space,
)
def test_numeric_strings_in_float_fields(lead: str, body: str, trail: str) -> None:
    text = lead + body + trail
    ascii_padded = not (lead + trail).strip(_ASCII_SPACE)
    decimal = re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", body)
    if ascii_padded and decimal and math.isfinite(float(body)):
        assert parse_export_task_status({"progress": text}).progress == float(body)
    else:
        with pytest.raises(ParseError) as info:
            parse_export_task_status({"progress": text})
        assert info.value.path == "progress"


opt_str = st.none() | st.text(max_size=10)
opt_int = st.none() | st.integers(min_value=-(10**30), max_value=10**30)


@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "status": opt_str,
            "dataset_id": opt_str,
            "task_id": opt_str,
            "add_sample_count": opt_int,
            "deleted_sample_count": opt_int,
            "total_sample_count": opt_int,
            "create_time": opt_int,
            "duration_time": opt_int,
            "error_code": opt_str,
            "error_msg": opt_str,
        },
    )
)
def test_valid_sync_bodies_round_trip(body: dict[str, Any]) -> None:
    s = parse_sync_status(body)
    for field in SyncStatus.__attrs_attrs__:
        if field.name != "extra":
            assert getattr(s, field.name) == body.get(field.name)
    assert dict(s.extra) == {}


def raw(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


string_map = st.none() | st.dictionaries(
    st.text(max_size=5), st.none() | st.lists(st.text(max_size=5), max_size=3), max_size=3
)
labels = st.fixed_dictionaries(
    {},
    optional={
        "name": opt_str,
        "op": st.sampled_from(["AND", "OR", "XOR"]),
        "type": st.sampled_from([0, 1, 3, 100, 101, 102, 103, 200, 201, 202, 600, 7, -1]),
        "property": string_map,
    },
)
conditions = st.fixed_dictionaries(
    {},
    optional={
        "hard": st.sampled_from(["0", "1", "2"]),
        "frame_in_video": opt_int,
        "sample_time": opt_str,
        "label_list": st.fixed_dictionaries(
            {}, optional={"op": st.sampled_from(["AND", "OR"]), "labels": st.lists(labels)}
        ),
        "metadata": st.fixed_dictionaries(
            {}, optional={"op": st.sampled_from(["AND", "OR"]), "props": string_map}
        ),
    },
)
export_bodies = st.fixed_dictionaries(
    {},
    optional={
        "status": opt_str,
        "progress": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "finished_sample_count": opt_int,
        "total_sample_count": opt_int,
        "export_type": st.sampled_from([0, 1, 2, 3, 9]),
        "export_format": st.sampled_from([1, 2, 5]),
        "version_format": st.sampled_from(["Default", "CarbonData", "CSV", "Other"]),
        "update_time": opt_int,
        "export_params": st.fixed_dictionaries(
            {},
            optional={
                "export_dest": st.sampled_from(["DIR", "NEW_DATASET", "ELSEWHERE"]),
                "sample_state": st.sampled_from(["__ALL__", "__NONE__", "", "__X__"]),
                "clear_hard_property": st.none() | st.booleans(),
                "samples": st.lists(st.text(max_size=4), max_size=3),
                "train_sample_ratio": st.floats(0, 1),
                "search_conditions": st.lists(conditions, max_size=3),
            },
        ),
    },
)


@given(body=export_bodies)
def test_valid_export_bodies_round_trip(body: dict[str, Any]) -> None:
    e = parse_export_task_status(body)
    for key in ("status", "progress", "finished_sample_count", "total_sample_count"):
        assert getattr(e, key) == body.get(key)
    for key in ("export_type", "export_format", "version_format"):
        assert raw(getattr(e, key)) == body.get(key)
    sent = body.get("export_params")
    if sent is None:
        assert e.export_params is None
        return
    p = e.export_params
    assert p is not None
    assert raw(p.export_dest) == sent.get("export_dest")
    assert raw(p.sample_state) == sent.get("sample_state")
    assert p.clear_hard_property == sent.get("clear_hard_property")
    assert p.train_sample_ratio == sent.get("train_sample_ratio")
    assert p.samples == (None if "samples" not in sent else tuple(sent["samples"]))
    if "search_conditions" not in sent:
        assert p.search_conditions is None
        return
    assert p.search_conditions is not None
    assert len(p.search_conditions) == len(sent["search_conditions"])
    for got, want in zip(p.search_conditions, sent["search_conditions"], strict=True):
        assert raw(got.hard) == want.get("hard")
        assert got.frame_in_video == want.get("frame_in_video")
        assert got.sample_time == want.get("sample_time")
        if "metadata" in want:
            assert got.metadata is not None
            assert raw(got.metadata.op) == want["metadata"].get("op")
            assert _plain_map(got.metadata.props) == want["metadata"].get("props")
        got_labels = got.label_list.labels if got.label_list else None
        want_labels = want.get("label_list", {}).get("labels")
        if want_labels is None:
            assert got_labels is None
            continue
        assert got_labels is not None
        for g, w in zip(got_labels, want_labels, strict=True):
            assert (g.name, raw(g.op), raw(g.type)) == (w.get("name"), w.get("op"), w.get("type"))
            assert _plain_map(g.property) == w.get("property")


def _plain_map(m: Any) -> Any:
    return None if m is None else {k: None if v is None else list(v) for k, v in m.items()}


dataset_entry = st.fixed_dictionaries(
    {},
    optional={
        "dataset_id": opt_str,
        "dataset_name": opt_str,
        "file_count": opt_int,
        "create_time": opt_int,
    },
)


@given(
    status=st.sampled_from(["PENDING", "RUNNING", "SUCCESS", "FAILURE", "OTHER"]),
    created=st.one_of(dataset_entry, st.lists(dataset_entry, max_size=3)),
    failures=st.lists(st.fixed_dictionaries({}, optional={"error_code": opt_str}), max_size=3),
)
def test_valid_dataset_task_bodies_round_trip(
    status: str, created: dict[str, Any] | list[dict[str, Any]], failures: list[dict[str, Any]]
) -> None:
    t = parse_dataset_task_status(
        {"status": status, "result": {"createDatasetSuccess": created, "failed": failures}}
    )
    assert t.status == status
    assert t.result is not None
    entries = [created] if isinstance(created, dict) else created
    assert t.result.create_dataset_success is not None
    assert [
        (c.dataset_id, c.dataset_name, c.file_count, c.create_time)
        for c in t.result.create_dataset_success
    ] == [
        (e.get("dataset_id"), e.get("dataset_name"), e.get("file_count"), e.get("create_time"))
        for e in entries
    ]
    assert [f.error_code for f in t.result.failed or ()] == [f.get("error_code") for f in failures]
    assert t.completion == (1.0 if status == "SUCCESS" else None)


KNOWN_TOP = {
    parse_sync_status: {f.name for f in SyncStatus.__attrs_attrs__},
    parse_export_task_status: {f.name for f in ExportTaskStatus.__attrs_attrs__},
    parse_dataset_task_status: {f.name for f in DatasetTaskStatus.__attrs_attrs__},
}


@pytest.mark.parametrize("parse", PARSERS)
@given(unknown=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_unknown_top_level_keys_are_kept_in_extra(parse: Any, unknown: dict[str, Any]) -> None:
    unknown = {k: v for k, v in unknown.items() if k not in KNOWN_TOP[parse]}
    model = parse(unknown)
    assert dict(model.extra) == unknown
    assert all(model.extra[k] is v for k, v in unknown.items())


def test_an_int_too_long_to_print_in_a_string_field_is_a_parse_error() -> None:
    huge = 10 ** (sys.get_int_max_str_digits() + 10)
    with pytest.raises(ParseError) as info:
        parse_sync_status({"status": huge})
    assert "too long to show" in str(info.value)
