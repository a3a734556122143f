"""Database expressions the reports need beyond Django's: seconds between two times and
percentiles (median, 90th), computed in the database on PostgreSQL and on SQLite.

PostgreSQL has ``percentile_cont``. SQLite has none, so, as Django does for STDDEV on
SQLite, we register an aggregate function on each SQLite connection with the same
definition (linear interpolation between the two nearest ranks): the grouping, filtering
and ordering stay in SQL and the results match PostgreSQL's to the second.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func

SQLITE_PERCENTILE = "mailflow_percentile"


class SecondsBetween(Func):
    """``end - start`` in seconds (a float), NULL when either is NULL."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::float",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def as_duration(seconds: float | None) -> timedelta | None:
    """Seconds (from SecondsBetween, Percentile) in whole seconds: the same figure from
    PostgreSQL and SQLite."""
    return None if seconds is None else timedelta(seconds=round(seconds))


class Percentile(Aggregate):
    """The continuous percentile ``fraction`` (0–1) of a numeric expression; NULLs ignored."""

    function = "percentile_cont"
    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"{SQLITE_PERCENTILE}(%(expressions)s, {self.fraction!r})"
        return self.as_sql(compiler, connection, template=template, **extra)


class _SqlitePercentile:
    """percentile_cont for SQLite: collects the group's values, interpolates at the end."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over ``values``: None for none."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, _SqlitePercentile)


def connect() -> None:
    connection_created.connect(register_sqlite_functions, dispatch_uid="reports.percentile")
