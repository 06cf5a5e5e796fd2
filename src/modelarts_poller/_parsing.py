"""Tolerant, honest field readers for decoded JSON (pure).

Every reader takes the object, the key and the path of the object, and returns the
typed value, ``None`` when the key is absent or null, or raises :class:`ParseError`
naming the full field path and the value found. Numbers sent as strings are accepted
(the API documents disagree with their own examples); bools are never numbers.
"""

from __future__ import annotations

import enum
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ._errors import ParseError
from ._phase import Phase

E = TypeVar("E", bound=enum.Enum)
V = TypeVar("V", bound=enum.Enum)
T = TypeVar("T")

EMPTY: Mapping[str, object] = MappingProxyType({})


def extra_field() -> Any:
    """The ``extra`` attribute of every model: unknown fields, kept and compared, but left
    out of the hash (a mapping is not hashable) and the repr (it may be large)."""
    return attrs.field(default=EMPTY, hash=False, repr=False)


def at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def obj(data: object, path: str) -> dict[str, Any]:
    if type(data) is not dict:
        raise ParseError(path, data, "object")
    return data


def opt_str(d: dict[str, Any], key: str, path: str) -> str | None:
    v = d.get(key)
    if v is None or type(v) is str:
        return v
    raise ParseError(at(path, key), v, "string")


def alias_str(
    d: dict[str, Any], keys: tuple[str, ...], path: str
) -> tuple[str | None, frozenset[str]]:
    """One field the API spells several ways (``error_msg``, ``error_message``): the first
    non-empty string under ``keys`` (else the first string), and the keys that value
    accounts for: absent, null, or the same text. A different text under another spelling
    is not accounted for, so the caller's :func:`extra` keeps it."""
    values = [(key, opt_str(d, key, path)) for key in keys]
    chosen = next((v for _, v in values if v), None)
    if chosen is None:
        chosen = next((v for _, v in values if v is not None), None)
    return chosen, frozenset(k for k, v in values if v is None or v == chosen)


# Numbers in strings: ASCII digits around ASCII whitespace only, as a JSON writer makes them.
_ASCII_SPACE = " \t\n\r\f\v"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def opt_int(d: dict[str, Any], key: str, path: str) -> int | None:
    v = d.get(key)
    if v is None or type(v) is int:
        return v
    return _int(v, at(path, key))


def _int(v: object, path: str) -> int:
    if type(v) is float and math.isfinite(v) and v.is_integer():
        return int(v)
    if type(v) is str:
        text = v.strip(_ASCII_SPACE)
        digits = text[1:] if text[:1] in ("+", "-") else text
        if digits.isascii() and digits.isdigit():
            try:
                return int(text)
            except ValueError:  # more digits than the interpreter's int_max_str_digits
                pass
    raise ParseError(path, v, "integer")


def opt_float(d: dict[str, Any], key: str, path: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    t = type(v)
    if t is float:
        if math.isfinite(v):
            return v  # type: ignore[no-any-return]
    elif t is int:
        try:
            return float(v)
        except OverflowError:
            pass
    elif t is str:
        text = v.strip(_ASCII_SPACE)
        # float() alone would also take "1_0", "inf" and non-ASCII digits.
        if _DECIMAL.fullmatch(text):
            f = float(text)
            if math.isfinite(f):
                return f
    raise ParseError(at(path, key), v, "finite number")


def opt_bool(d: dict[str, Any], key: str, path: str) -> bool | None:
    v = d.get(key)
    if v is None or type(v) is bool:
        return v
    if type(v) is str and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ParseError(at(path, key), v, "boolean")


def opt_list(
    d: dict[str, Any], key: str, path: str, item: Callable[[object, str], T]
) -> tuple[T, ...] | None:
    v = d.get(key)
    if v is None:
        return None
    p = at(path, key)
    if type(v) is dict:  # documents call some objects "arrays": accept one object
        return (item(v, p),)
    if type(v) is not list:
        raise ParseError(p, v, "array")
    return tuple(item(x, f"{p}[{i}]") for i, x in enumerate(v))


def str_item(v: object, path: str) -> str:
    if type(v) is str:
        return v
    raise ParseError(path, v, "string")


def opt_str_map(
    d: dict[str, Any], key: str, path: str
) -> Mapping[str, tuple[str, ...] | None] | None:
    """A ``Map<String, Array<String>>``; a null value list is kept as ``None``."""
    v = d.get(key)
    if v is None:
        return None
    p = at(path, key)
    if type(v) is not dict:
        raise ParseError(p, v, "object")
    out: dict[str, tuple[str, ...] | None] = {}
    for k, values in v.items():
        kp = f"{p}.{k}"
        if values is None:
            out[k] = None
        elif type(values) is list:
            out[k] = tuple(str_item(x, f"{kp}[{i}]") for i, x in enumerate(values))
        elif type(values) is str:
            out[k] = (values,)
        else:
            raise ParseError(kp, values, "array of strings")
    return MappingProxyType(out)


def opt_enum(d: dict[str, Any], key: str, path: str, cls: type[E], raw: type) -> E | Any:
    """The enum member for a documented value; an undocumented value is kept verbatim."""
    v = d.get(key)
    if v is None:
        return None
    if raw is int:
        if type(v) is not int:
            v = _int(v, at(path, key))
    elif type(v) is not raw:
        raise ParseError(at(path, key), v, raw.__name__ if raw is not str else "string")
    # A dict lookup, not cls(v): enum construction is the slowest part of a parse.
    member = cls._value2member_map_.get(v)
    return v if member is None else member


class _Exposure(threading.local):
    """Counts, per thread, the parses that put a decoded JSON list or object (mutable, and
    kept as sent) into a snapshot. A client shares one snapshot between byte-identical
    answers only when its parse counted none: a caller changing such a value in place
    would otherwise change what later polls report."""

    count = 0


EXPOSURE = _Exposure()


def expose(values: Iterable[object]) -> None:
    """Note that ``values`` go into a snapshot as sent (see :data:`EXPOSURE`)."""
    for v in values:
        t = type(v)
        if t is list or t is dict:
            EXPOSURE.count += 1
            return


def extra(d: dict[str, Any], known: frozenset[str]) -> Mapping[str, object]:
    """Fields this library does not know, kept (not dropped) in a read-only mapping."""
    if len(d) <= len(known) and known.issuperset(d):
        return EMPTY
    out = {k: v for k, v in d.items() if k not in known}
    expose(out.values())
    return MappingProxyType(out)


def ms_datetime(ms: int | None) -> datetime | None:
    """A millisecond epoch timestamp as an aware UTC datetime (``None`` if out of range)."""
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class StatusMixin(Generic[V]):
    """``phase``, ``status_value`` and ``completion`` for a model with a ``status``.

    Subclasses give their kind's status table (value -> phase; anything else is
    ``UNKNOWN``) and their status enum.
    """

    __slots__ = ()
    _phases: ClassVar[Mapping[Any, Phase]]
    _values: ClassVar[type[Any]]
    status: Any

    @property
    def phase(self) -> Phase:
        return self._phases.get(self.status, Phase.UNKNOWN)

    @property
    def status_value(self) -> V | None:
        """The status as its enum member, or ``None`` if absent or undocumented."""
        try:
            return self._values(self.status)  # type: ignore[no-any-return]
        except ValueError:
            return None

    @property
    def completion(self) -> float | None:
        """1.0 once succeeded; this kind reports no progress before that."""
        return 1.0 if self.phase is Phase.SUCCEEDED else None
