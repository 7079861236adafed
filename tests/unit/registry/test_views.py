"""Views built from plain rows: the columns must line up with the view's fields."""

from __future__ import annotations

from dataclasses import fields

from charter.registry.repository import VIEW_COLUMNS
from charter.registry.views import VersionView


def test_view_columns_are_the_views_fields_in_order() -> None:
    # views_of_rows builds a VersionView positionally from a row of VIEW_COLUMNS followed by
    # tags, metrics and aliases; a column added or moved on one side only would shift values.
    names = [field.name for field in fields(VersionView)]
    assert [column.key for column in VIEW_COLUMNS] + ["tags", "metrics", "aliases"] == names
