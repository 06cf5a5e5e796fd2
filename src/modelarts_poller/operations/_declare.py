"""Declaring a kind: each fact written once, the rest derived when the module is imported.

A snapshot model's fields say where they are on the wire (:func:`text`, :func:`integer`,
:func:`read`, ...; the key defaults to the field's name, ``at`` names the object that
holds it). :func:`declare`, applied to a kind's spec class, takes the status enum and the
phase table keyed by it, the path and the start/list templates, and derives the rest:
the spec's ``KIND``, ``ID_NAMES`` (its fields before ``project_id``), ``PATH``,
``PARSE`` and ``PHASES``, the model's phase lookup, and the registered :class:`Kind`. It
refuses, at import, a phase table that misses a member of the enum, a path whose fields
are not the IDs, and a model field that says nowhere where it comes from.

The parser is generated source, one keyword argument per field, as a hand-written one
would be: a poll pays no per-field dispatch for the declaration.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from string import Formatter
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from .. import _parsing as p
from .._kind import Kind, ListPaging, StopCall, register_kind
from .._phase import Phase

S = TypeVar("S", bound=type)
T = TypeVar("T")

_WIRE = "modelarts_poller.wire"

# The readers a field may name; a generated parser calls them by these names.
_READERS: dict[str, Callable[..., Any]] = {
    "opt_str": p.opt_str,
    "opt_int": p.opt_int,
    "opt_float": p.opt_float,
    "opt_bool": p.opt_bool,
    "opt_str_map": p.opt_str_map,
    "opt_enum": p.opt_enum,
}


@attrs.frozen
class Wire:
    """Where one model field is read from: ``reader(obj, key, path)`` on the object at
    ``at`` (``""``: the body itself); ``aliases`` are other spellings of the key."""

    reader: Callable[..., Any] | str
    key: str | None = None
    at: str = ""
    aliases: tuple[str, ...] = ()
    args: tuple[Any, ...] = ()  # more arguments of the reader, after the path


def _field(wire: Wire | None, hash: bool | None = None) -> Any:
    return attrs.field(default=None, hash=hash, metadata={_WIRE: wire})


def text(key: str | None = None, *, at: str = "", aliases: tuple[str, ...] = ()) -> Any:
    """A string field (``None`` when absent); ``aliases`` are other spellings of its key,
    the first non-empty one read (the others, if they differ, stay in ``extra``)."""
    return _field(Wire("opt_str", key, at, aliases))


def integer(key: str | None = None, *, at: str = "") -> Any:
    """An integer field (numbers sent as strings accepted)."""
    return _field(Wire("opt_int", key, at))


def number(key: str | None = None, *, at: str = "") -> Any:
    """A finite number field."""
    return _field(Wire("opt_float", key, at))


def flag(key: str | None = None, *, at: str = "") -> Any:
    """A boolean field (``"true"``/``"false"`` accepted)."""
    return _field(Wire("opt_bool", key, at))


def choice(values: type[enum.Enum], raw: type = str, key: str | None = None, *,
           at: str = "") -> Any:  # fmt: skip
    """A field of documented values: the member of ``values`` (raw values of type ``raw``),
    or the value as sent when it is not documented."""
    return _field(Wire("opt_enum", key, at, (), (values, raw)))


def str_map(key: str | None = None, *, at: str = "") -> Any:
    """A ``Map<String, Array<String>>`` field (left out of the model's hash)."""
    return _field(Wire("opt_str_map", key, at), hash=False)


def read(reader: Callable[[dict[str, Any], str, str], object], key: str | None = None,
         *, at: str = "") -> Any:  # fmt: skip
    """A field read by ``reader(obj, key, path)`` (a nested model, an enum, a list)."""
    return _field(Wire(reader, key, at))


def nested(parse: Callable[[object, str], object], key: str | None = None, *,
           at: str = "") -> Any:  # fmt: skip
    """An object field read by ``parse(value, path)`` (a generated :func:`parser`)."""

    def reader(d: dict[str, Any], key: str, path: str) -> object:
        v = d.get(key)
        return None if v is None else parse(v, p.at(path, key))

    return _field(Wire(reader, key, at))


def items(item: Callable[[object, str], object], key: str | None = None, *, at: str = "",
          hash: bool | None = None) -> Any:  # fmt: skip
    """An array field (a single object accepted as one item), each item read by
    ``item(value, path)``; ``hash=False`` leaves it out of the model's hash."""

    def reader(d: dict[str, Any], key: str, path: str) -> object:
        return p.opt_list(d, key, path, item)

    return _field(Wire(reader, key, at), hash=hash)


def derived() -> Any:
    """A field not read from one key: the kind's ``finish`` sets it."""
    return _field(None)


def phase_table(
    values: type[enum.Enum],
    phases: Mapping[Any, Phase],
    *,
    undocumented: Mapping[Any, Phase] | None = None,
) -> Mapping[Any, Phase]:
    """The phase of each status value, by raw value, from a table keyed by the members of
    ``values``; refused unless it gives every member exactly one phase. ``undocumented``
    adds raw values that are no member (spellings a server might send)."""
    if set(phases) != set(values):
        missing = sorted(m.name for m in set(values) - set(phases))
        other = sorted(map(repr, set(phases) - set(values)))
        raise TypeError(f"{values.__name__}'s phase table: missing {missing}, not members {other}")
    table = {m.value: phases[m] for m in values}
    for value, phase in (undocumented or {}).items():
        if value in table:
            raise TypeError(f"{values.__name__}'s phase table: {value!r} is documented")
        table[value] = phase
    return MappingProxyType(table)


def _paths(model: type) -> list[str]:
    seen: list[str] = []
    for f in attrs.fields(model):
        wire = f.metadata.get(_WIRE)
        if wire is not None and wire.at and wire.at not in seen:
            seen.append(wire.at)
    return seen


def parser(model: type[T], finish: Callable[..., None] | None = None) -> Callable[..., T]:
    """Generate ``model``'s parser from its fields' :class:`Wire` metadata.

    Unknown keys go to ``extra``; those of a nested object under ``extra[its key]``.
    ``finish(body, values)``, if given, may change the field values before the model is
    built (fields a kind derives from several keys). The parser takes the body and, for
    an item of a list answer, the item's path in it (``path=""``)."""
    env: dict[str, Any] = {**_READERS, "obj": p.obj, "extra": p.extra, "alias_str": p.alias_str,
                           "expose": p.expose, "Proxy": MappingProxyType, "EMPTY": p.EMPTY,
                           "Model": model, "finish": finish}  # fmt: skip
    nested = _paths(model)
    var = {"": "d", **{path: f"n{i}" for i, path in enumerate(nested)}}
    known: dict[str, set[str]] = {path: set() for path in var}
    known[""].update(nested)
    # ``path`` names the body where it is an item of a list answer (``tasks[3]``).
    lines = ['def parse(data, path=""):', "    d = obj(data, path)"]
    where = {"": "path", **{a: f"p{var[a]}" for a in nested}}
    for a in nested:
        lines += [f"    {where[a]} = path + {'.' + a!r} if path else {a!r}",
                  f"    {var[a]} = obj(d.get({a!r}) or {{}}, {where[a]})"]  # fmt: skip
    args: list[str] = []
    spellings: list[str] = []
    for f in attrs.fields(model):  # type: ignore[arg-type]
        if f.name == "extra":
            continue
        if _WIRE not in f.metadata:
            raise TypeError(f"{model.__name__}.{f.name} does not say where it is on the wire")
        wire = f.metadata[_WIRE]
        if wire is None:
            continue  # derived: finish sets it
        key = wire.key or f.name
        src, at = var[wire.at], wire.at
        if wire.aliases:
            keys = (key, *wire.aliases)
            lines.append(f"    {f.name}, s_{f.name} = alias_str({src}, {keys!r}, {where[at]})")
            args.append(f"{f.name}={f.name}")
            spellings.append(f"s_{f.name}")
            continue
        known[at].add(key)
        reader = wire.reader
        if not isinstance(reader, str):
            env[f"r_{f.name}"] = reader
            reader = f"r_{f.name}"
        more = ""
        for i, value in enumerate(wire.args):
            env[f"a_{f.name}_{i}"] = value
            more += f", a_{f.name}_{i}"
        args.append(f"{f.name}={reader}({src}, {key!r}, {where[at]}{more})")
    for at, names in known.items():
        env[f"K{var[at]}"] = frozenset(names)
    plus = "".join(f" | {s}" for s in spellings)
    if not nested:
        args.append(f"extra=extra(d, Kd{plus})")
    else:
        lines.append(f"    x = dict(extra(d, Kd{plus}))")
        for at in nested:
            v = var[at]
            lines += [f"    r = extra({v}, K{v})", "    if r:",
                      f"        x[{at!r}] = r = dict(r)", "        expose((r,))"]  # fmt: skip
        args.append("extra=Proxy(x) if x else EMPTY")
    if finish is None:
        lines.append(f"    return Model({', '.join(args)})")
    else:
        lines += [f"    v = dict({', '.join(args)})", "    finish(d, v)", "    return Model(**v)"]
    exec("\n".join(lines), env)  # the source is built above from field names only
    parse: Callable[..., T] = env["parse"]
    parse.__doc__ = f"Read a {model.__name__} body; raises ParseError on a wrong type."
    parse.__module__ = model.__module__
    parse.__name__ = parse.__qualname__ = f"parse_{model.__name__}"
    return parse


def declare(
    name: str,
    *,
    values: type[enum.Enum],
    phases: Mapping[Any, Phase],
    path: str,
    model: type,
    parse: Callable[[object], Any] | None = None,
    aliases: tuple[str, ...] = (),
    description: str = "",
    templates: tuple[str, ...] = (),
    list_path: str | None = None,
    group_ids: tuple[str, ...] = (),
    list_page: Callable[[object], tuple[int, tuple[Any, ...]]] | None = None,
    list_paging: ListPaging | None = None,
    stop: StopCall | None = None,
) -> Callable[[S], S]:
    """Make a spec class (a frozen attrs ``ModelArtsTask`` whose fields are its IDs in
    path order, then ``project_id`` and ``success``) the spec of kind ``name``, and
    register the kind. ``phases`` is the table :func:`phase_table` made for ``values``;
    ``parse`` is ``model``'s parser, by default the one :func:`parser` generates.
    ``list_path``, ``group_ids`` and ``list_page`` declare a list call that observes a
    group of tasks at once (see :class:`~modelarts_poller.ModelArtsTask`), ``list_paging``
    how it pages and is sent (by default a GET, 100 a page in the query, ``offset``
    counting pages; see :class:`ListPaging`); ``stop`` the kind's stop call (refused
    unless its path is over the IDs and its ``stopped`` values are documented ones)."""
    read_body = parser(model) if parse is None else parse
    table = phases
    if not {m.value for m in values} <= set(table):
        raise TypeError(f"kind {name!r}: phases is not the phase table of {values.__name__}")

    def apply(spec: S) -> S:
        names = [f.name for f in attrs.fields(spec)]
        if "project_id" not in names:
            raise TypeError(f"{spec.__name__} has no project_id field")
        ids = tuple(names[: names.index("project_id")])
        fields = {f for _, f, _, _ in Formatter().parse(path) if f}
        if fields != {"project_id", *ids}:
            raise TypeError(f"{spec.__name__}: path {path!r} is not over project_id and {ids}")
        if stop is not None:
            over = {f for _, f, _, _ in Formatter().parse(stop.path) if f}
            if over != {"project_id", *ids}:
                raise TypeError(f"{spec.__name__}: stop path {stop.path!r} is not over {ids}")
            if not stop.stopped or not set(stop.stopped) <= set(table):
                raise TypeError(f"{spec.__name__}: stopped values {set(stop.stopped)} are not "
                                f"documented status values")  # fmt: skip
        for owner, attr, value in (
            (model, "_phases", table),
            (model, "_values", values),
            (spec, "KIND", name),
            (spec, "PATH", path),
            (spec, "ID_NAMES", ids),
            (spec, "PARSE", staticmethod(read_body)),
            (spec, "PHASES", table),
            (spec, "LIST_PATH", list_path),
            (spec, "GROUP_IDS", group_ids),
            (spec, "LIST_PAGE", None if list_page is None else staticmethod(list_page)),
            (spec, "LIST_PAGING", list_paging or ListPaging()),
            (spec, "STOP", stop),
        ):
            setattr(owner, attr, value)
        more = () if stop is None else (stop.path,)
        register_kind(Kind(name, spec, ids, aliases, description, (*templates, *more)))
        return spec

    return apply
