"""Writing many rows at once: one `UPDATE … FROM (VALUES …)` per batch for changed fields, `COPY` for new
rows.

Django's `bulk_update` writes a `CASE WHEN id = … THEN …` per row and field: building it costs Python time
that grows with rows x fields, and PostgreSQL walks the CASE for every row it updates (quadratic in the
batch). Storing the analysis of a 2,000-principal account spent most of its time there. Here each batch is
a single join against a VALUES list, every value cast to its column's type (PostgreSQL; other databases,
such as the demo's SQLite, get Django's `bulk_update`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import NOT_PROVIDED, Field, Model


def rows_update(objs: Sequence[Model], fields: Sequence[str], *, batch_size: int = 1000) -> int:
    """Write `fields` of every object in `objs` (all of one model, all saved) to its row; how many rows.
    Like `QuerySet.bulk_update`, without signals and without touching `auto_now` fields."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":  # the demo's SQLite: Django's own, slower, statement
        return model._default_manager.using(db).bulk_update(objs, fields, batch_size=batch_size)
    qn = connection.ops.quote_name
    concrete = [meta.get_field(name) for name in fields]
    columns = [str(f.column) for f in concrete]  # type: ignore[union-attr]
    casts = [str(f.db_type(connection)) for f in concrete]
    pk = meta.pk
    if pk is None:
        raise ValueError(f"{model.__name__} has no primary key")
    row = "(" + ", ".join([f"%s::{pk.db_type(connection)}", *(f"%s::{c}" for c in casts)]) + ")"
    assignments = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns)
    names = ", ".join(qn(c) for c in ["__pk", *columns])
    batch_size = max(1, min(batch_size, 60000 // (len(columns) + 1)))  # PostgreSQL: 65,535 parameters
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params: list[Any] = []
            for obj in batch:
                params.append(obj.pk)
                for f in concrete:
                    value = getattr(obj, f.attname)  # type: ignore[union-attr]
                    params.append(f.get_db_prep_save(value, connection))  # type: ignore[union-attr]
            cursor.execute(
                # Names quoted by the backend, every value bound: nothing from input reaches the text.
                f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "  # noqa: S608  # nosec B608
                f"FROM (VALUES {', '.join([row] * len(batch))}) AS v({names}) "
                f"WHERE t.{qn(str(pk.column))} = v.{qn('__pk')}",
                params,
            )
            written += cursor.rowcount
    return written


def rows_copy(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert `rows` into `model`'s table with one `COPY … FROM STDIN`; how many were sent. Each row holds,
    in the order of `columns` (attribute names, such as `principal_id`), values as the database takes them:
    str, int, bool, aware datetime, None, or psycopg's `Jsonb` for a JSON column; a column not named gets the
    database's default (NULL), not the model field's: name them all. No model instance is built
    and no value passes through Django's field preparation: for the hundreds of thousands of last-accessed
    rows of a large account, those cost more than PostgreSQL's own work. With `ignore_conflicts`, rows that
    would break a unique constraint are skipped (`ON CONFLICT DO NOTHING`, through a temporary table), as
    when two syncs store the same content-addressed document. Off PostgreSQL (the demo's SQLite), the rows
    become instances and go through `bulk_create`."""
    meta = model._meta
    fields = [meta.get_field(c) for c in columns]
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, _sqlite_values(row), strict=True))) for row in rows]
        model._default_manager.using(db).bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return len(objs)
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    names = ", ".join(qn(str(f.column)) for f in fields)  # type: ignore[union-attr]
    written = 0
    # Errors from COPY become Django's (IntegrityError, …), as they would from `bulk_create`.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        target = table
        if ignore_conflicts:
            target = "pg_temp." + qn(f"copy_{meta.db_table}")  # never a permanent table of that name
            # Names quoted by the backend, never from input (here and below).
            cursor.execute(f"DROP TABLE IF EXISTS {target}")  # nosec B608
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608  # nosec B608
            )
        # The values travel in COPY's data stream, never in the statement's text.
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:  # nosec B608
            for row in rows:
                copy.write_row(row)
                written += 1
        if ignore_conflicts:
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} ON CONFLICT DO NOTHING"  # noqa: S608  # nosec B608
            )
            cursor.execute(f"DROP TABLE {target}")  # nosec B608
    return written


def _sqlite_values(row: Sequence[Any]) -> list[Any]:
    return [getattr(v, "obj", v) if type(v).__name__ == "Jsonb" else v for v in row]


# Fields whose Python value is what the database takes (a foreign key's by its attname, a datetime when
# aware, as every value this project writes is): `objects_copy` passes these through unprepared.
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


def objects_copy(objs: Sequence[Model], *, ignore_conflicts: bool = False) -> int:
    """`bulk_create` through `COPY` for many new instances of one model (their primary keys are not set:
    read them back by a unique field when needed). Every concrete field but an automatic primary key is
    written, prepared as `bulk_create` prepares it (defaults, `auto_now_add`, JSON, aware datetimes)."""
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return len(objs)
    # An automatic primary key (its `db_returning`) is the database's to number.
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]
    if any(f.generated or f.db_default is not NOT_PROVIDED for f in fields):
        # The database computes these: Django's own insert knows how to leave them out.
        model._default_manager.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return len(objs)
    as_is = [
        f.get_internal_type() in _AS_IS and type(f).pre_save is Field.pre_save  # type: ignore[attr-defined]
        for f in fields
    ]
    pairs = list(zip(fields, as_is, strict=True))

    def row(obj: Model) -> list[Any]:
        return [
            getattr(obj, f.attname) if plain else f.get_db_prep_save(f.pre_save(obj, True), connection)  # type: ignore[attr-defined]
            for f, plain in pairs
        ]

    return rows_copy(model, [f.attname for f in fields], map(row, objs), ignore_conflicts=ignore_conflicts)
