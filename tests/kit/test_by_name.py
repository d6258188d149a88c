"""``kit.pagination.by_name``: a list row's columns by name, whatever the row is (a Core
``Row`` read through its mapping, for speed; anything else by attribute)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import column, create_engine, literal, select

from trunkline.kit.pagination import by_name


def test_a_core_row_is_read_through_its_mapping() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        row = conn.execute(select(literal(1).label("id"), literal("x").label("name"))).one()
    columns = by_name(row)
    assert type(columns) is type(row._mapping)  # a new RowMapping each time: not `is`
    assert (columns["id"], columns["name"]) == (row.id, row.name) == (1, "x")
    with pytest.raises(KeyError):
        columns["missing"]


def test_any_other_object_is_read_by_attribute() -> None:
    obj = SimpleNamespace(id=1, name=None)
    columns = by_name(obj)
    assert (columns["id"], columns["name"]) == (1, None)
    with pytest.raises(AttributeError):
        columns["missing"]


def test_a_column_object_is_no_row() -> None:
    # Read by attribute like any object that is not a Core Row.
    assert by_name(column("c"))["name"] == "c"
