"""``column IN <a list of strings>``, on PostgreSQL as one array parameter.

SQLAlchemy's expanding ``IN`` (``bindparam(..., expanding=True)``) renders one placeholder per
value: it re-writes the statement's SQL on every execution (its "post-compile" step), and
PostgreSQL sees a different statement text — a different prepared statement, planned and
cached on its own — for each list length. On PostgreSQL ``one_of`` renders
``column = ANY($1::VARCHAR[])`` instead (asyncpg sends the list as an array): one SQL text, one
prepared statement for every length, and no re-render. SQLite keeps the expanding ``IN``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean, TypeDecorator, TypeEngine


class StringList(TypeDecorator[list[str]]):
    """A list of strings as one bound value: an array on PostgreSQL (SQLite never binds it)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> TypeEngine[Any]:
        impl: TypeEngine[Any] = ARRAY(String) if dialect.name == "postgresql" else String()
        described: TypeEngine[Any] = dialect.type_descriptor(impl)
        return described


def list_param(name: str) -> BindParameter[list[str]]:
    """A named parameter that takes a list of strings as one value (for ``one_of``)."""
    return bindparam(name, type_=StringList())


class OneOf(ColumnElement[bool]):
    """``column`` equals one of the strings bound to ``values`` (a ``list_param``)."""

    __visit_name__ = "one_of"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" appended where booleans are ints
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], values: BindParameter[list[str]]) -> None:
        self.column = column
        self.values = values


def one_of(column: Any, values: BindParameter[list[str]]) -> OneOf:
    return OneOf(column, values)


@compiles(OneOf, "postgresql")
def _one_of_postgresql(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.values, **kw)})"


@compiles(OneOf)
def _one_of_sqlite(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite has no array type: an expanding IN of the same name. (``IN (SELECT value FROM
    # json_each(?))`` keeps one SQL text and is searched through the index too, but shows in
    # the query plan as a scan, which tests/db/test_key_read_plans.py rightly refuses to tell
    # apart from a table scan.)
    values = bindparam(element.values.key, expanding=True, type_=String())
    return compiler.process(element.column.in_(values), **kw)
