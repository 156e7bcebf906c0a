"""Querysets compiled once per shape and process, run many times with new values.

Compiling a queryset to SQL costs Python time on every request: 0.3-0.5 ms for a
small statement, ~1 ms for a feed card's 85-column select with its joins, 5-9 ms per
feed page in all (docs/performance.md, tenth session). Yet a page's statements have
the same shape every time; only the values change: the viewer's id, the posts on the
page. A `Prepared` statement is built once with stand-in values ("sentinels"),
compiled once, and then each call puts the real values where the sentinels were.
The result is an ordinary QuerySet: iterating it (models with their joins,
`values_list`, prefetches) runs through Django as usual, only the compile is
skipped. Any change to it (`filter`, slicing, `first()`, `count()`) clones the query,
and a clone is the same queryset built afresh with the real values: a prepared
statement never answers for a different one.

Values are ids (`ints=`, compared for equality: an id beyond 64 bits matches
nothing), lists of ids (`lists=`, matched with the `any_of` lookup below, one
parameter whatever the list's length, so the text, and PostgreSQL's plan for the
prepared statement, stays the same; ids beyond 64 bits are left out) and text
(`texts=`) and moments (`times=`). A statement that
depends on who reads (the posts oracle) is built for a stand-in viewer with the
real viewer's role and activity (`viewer=True`): the viewer's id is a value like any
other. Everything else a build function reads must be fixed: branches go in
`shape=`.

Every prepared statement registers itself; core/tests/test_prepared.py compiles
each one freshly with real values and checks that the bound statement is exactly
the same SQL with the same parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from django.db import connections
from django.db.models import Field, ForeignObject, Lookup, QuerySet
from django.db.models.sql.query import Query

# Stand-ins far outside any id this application hands out (and inside bigint).
_SENTINEL_BASE = -8_946_113_522_000_000
_CACHE_LIMIT = 512


class AnyOf(Lookup):  # type: ignore[type-arg]
    """`field__any_of=[1, 2, 3]`: one parameter for the whole list (PostgreSQL
    `= ANY(%s::bigint[])`, SQLite `IN (SELECT value FROM json_each(%s))`), so the
    SQL text is the same for every length. Integers only."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # An id outside 64 bits matches no row (and would not bind).
        values = [int(value) for value in self.rhs if _fits(int(value))]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, values]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]  # noqa: S608  # nosec B608 - compiled column; values are parameters


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)


def _list_param(vendor: str, values: list[int]) -> Any:
    ints = [int(value) for value in values if _fits(int(value))]
    return ints if vendor == "postgresql" else json.dumps(ints)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # (position in params, value name, "int", "list" or "text")
    # and the parameter's own type (PostgreSQL's backend wraps some ints, Int8(...)).
    slots: tuple[tuple[int, str, str, type], ...]
    state: dict[str, Any]  # the compiler's select, klass_info, converters...
    queryset: QuerySet[Any]


class _BoundQuery(Query):
    """A query that answers with SQL compiled earlier (see Prepared). Its own tree
    still holds the stand-in values: anything else asked of it (a clone for
    `filter`, `count()`, another database) goes to the same query built afresh with
    the real values."""

    bound: tuple[_Compiled, tuple[Any, ...], str, Callable[[], QuerySet[Any]]]

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiled, params, vendor, rebuild = self.bound
        compiler = super().get_compiler(using, connection, elide_empty)
        if compiler.connection.vendor != vendor:
            return rebuild().query.get_compiler(using, connection, elide_empty)
        compiler.__dict__.update(compiled.state)
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
        converters = compiled.state["_converters"]
        compiler.get_converters = lambda expressions: converters
        return compiler

    def clone(self) -> Query:
        return self.bound[3]().query


class _StandIn:
    """Sentinel values handed to a build function, by name."""

    def __init__(
        self, ints: tuple[str, ...], lists: tuple[str, ...], texts: tuple[str, ...], times: tuple[str, ...]
    ) -> None:
        self.sentinels: dict[str, int] = {}
        for index, name in enumerate((*ints, *lists, *texts, *times)):
            self.sentinels[name] = _SENTINEL_BASE - index
        self.kinds = {
            name: kind for names, kind in ((lists, "list"), (texts, "text"), (times, "time")) for name in names
        }

    def kind(self, name: str) -> str:
        return self.kinds.get(name, "int")

    def values(self) -> dict[str, Any]:
        stand_ins: dict[str, Any] = {}
        for name, sentinel in self.sentinels.items():
            kind = self.kind(name)
            if kind == "list":
                stand_ins[name] = [sentinel]
            elif kind == "text":
                stand_ins[name] = f"\x1fslot{sentinel}\x1f"
            elif kind == "time":  # a moment no row holds, told apart by its microseconds
                stand_ins[name] = datetime(1001, 2, 3, 4, 5, 6, _SENTINEL_BASE - sentinel + 1, tzinfo=UTC)
            else:
                stand_ins[name] = sentinel
        return stand_ins


PREPARED: list[Prepared] = []


class Prepared:
    """A queryset shape compiled once per (database vendor, shape, viewer role and
    activity). `build(**values)` (plus `viewer=` when `viewer=True`) returns the
    queryset; calling the Prepared with the real values returns it bound to them."""

    def __init__(
        self,
        name: str,
        build: Callable[..., QuerySet[Any]],
        *,
        ints: tuple[str, ...] = (),
        lists: tuple[str, ...] = (),
        texts: tuple[str, ...] = (),
        times: tuple[str, ...] = (),
        viewer: bool = False,
    ) -> None:
        self.name = name
        self.build = build
        self.ints = ints
        self.lists = lists
        self.texts = texts
        self.times = times
        self.viewer = viewer
        self.names = {*ints, *lists, *texts, *times}
        self.found: dict[tuple[Any, ...], _Compiled] = {}
        PREPARED.append(self)

    def fresh(self, *, viewer: Any = None, shape: Hashable = None, **values: Any) -> QuerySet[Any]:
        """The same queryset built and compiled the ordinary way (tests compare)."""
        extra = {"viewer": viewer} if self.viewer else {}
        if shape is not None:
            extra["shape"] = shape
        return self.build(**extra, **values)

    def __call__(self, *, viewer: Any = None, shape: Hashable = None, **values: Any) -> QuerySet[Any]:
        if values.keys() != self.names:
            raise TypeError(f"{self.name} takes {sorted(self.names)}, got {sorted(values)}")
        if self.viewer and not (viewer.is_authenticated and viewer.is_active and viewer.pk):
            return self.fresh(viewer=viewer, shape=shape, **values)  # nobody signed in: nothing to share
        if not all(_fits(values[name]) for name in self.ints):
            # Values are ids compared for equality: one no column can hold matches nothing.
            return self.fresh(viewer=viewer, shape=shape, **values).none()
        database = connections["default"]
        vendor = database.vendor
        who = (bool(viewer.is_active), viewer.role) if self.viewer else ()
        key = (vendor, shape, *who)
        compiled = self.found.get(key)
        if compiled is None:
            compiled = self._compile(viewer=viewer, shape=shape)
            if len(self.found) >= _CACHE_LIMIT:
                self.found.clear()
            self.found[key] = compiled
        if self.viewer:
            values["viewer"] = viewer.pk
        params = list(compiled.params)
        for position, name, kind, wrap in compiled.slots:
            value = values[name]
            if kind == "list":
                value = _list_param(vendor, value)
            elif kind == "text":
                value = str(value)
            elif kind == "time":
                value = database.ops.adapt_datetimefield_value(value)
            elif wrap is not int:
                value = wrap(value)
            params[position] = value
        queryset = compiled.queryset.all()  # a clone (of the stand-in query, made bound below)
        query = queryset.query
        query.__class__ = _BoundQuery

        def rebuild() -> QuerySet[Any]:
            return self.fresh(viewer=viewer, shape=shape, **{k: v for k, v in values.items() if k != "viewer"})

        cast(_BoundQuery, query).bound = (compiled, tuple(params), vendor, rebuild)
        return queryset

    def _compile(self, *, viewer: Any, shape: Hashable) -> _Compiled:
        stand_in = _StandIn(self.ints, self.lists, self.texts, self.times)
        values = stand_in.values()
        if self.viewer:
            stand_in.sentinels["viewer"] = _SENTINEL_BASE - len(stand_in.sentinels)
            values["viewer"] = _stand_in_viewer(viewer, stand_in.sentinels["viewer"])
        if shape is not None:
            values["shape"] = shape
        queryset = self.build(**values)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        vendor = compiler.connection.vendor
        slots: list[tuple[int, str, str, type]] = []
        stand_ins = stand_in.values()
        for name, sentinel in stand_in.sentinels.items():
            kind = stand_in.kind(name)
            wanted = stand_ins[name]
            if kind == "list":
                wanted = _list_param(vendor, wanted)
            elif kind == "time":
                wanted = compiler.connection.ops.adapt_datetimefield_value(wanted)
            hits = [i for i, param in enumerate(params) if isinstance(param, type(wanted)) and param == wanted]
            # (A statement may not read the viewer's id: an arm over communities the
            # oracle has just confirmed, say.)
            if (not hits and name != "viewer") or str(sentinel) in sql:
                raise ValueError(f"{self.name}: the value {name!r} is not a parameter of the statement")
            slots.extend((i, name, kind, type(params[i])) for i in hits)
        state = {
            name: getattr(compiler, name)
            for name in ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")
        }
        state["_converters"] = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        return _Compiled(sql=sql, params=tuple(params), slots=tuple(slots), state=state, queryset=queryset)


def _fits(value: Any) -> bool:
    """A 64-bit integer (what the columns hold; anything else is the ORM's to judge)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _stand_in_viewer(viewer: Any, pk: int) -> Any:
    """A user like `viewer` in all a filter may read of it but its id."""
    return viewer.__class__(pk=pk, role=viewer.role, is_active=viewer.is_active)
