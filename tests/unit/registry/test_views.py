"""Views built from plain rows: the columns must line up with the view's fields."""

from __future__ import annotations

import json
from dataclasses import fields

import pydantic_core

from charter.registry.schemas import VersionRead, version_read_data
from charter.registry.statements import VIEW_COLUMNS, VersionRecord
from charter.registry.views import VersionView


def test_view_columns_are_the_views_fields_in_order() -> None:
    # views_of_rows builds a VersionView positionally from a row of VIEW_COLUMNS followed by
    # tags, metrics and aliases; a column added or moved on one side only would shift values.
    names = [field.name for field in fields(VersionView)]
    assert [column.key for column in VIEW_COLUMNS] + ["tags", "metrics", "aliases"] == names


def test_a_prepared_read_names_its_columns_as_the_view_does() -> None:
    # Prepared reads (SQLite) wrap the driver's plain tuples in VersionRecord, positionally.
    assert list(VersionRecord._fields) == [column.key for column in VIEW_COLUMNS]


def test_a_page_item_is_written_as_the_response_model_writes_it() -> None:
    # Pages are written from version_read_data without a model per item; single answers go through
    # VersionRead. Both must give the same JSON.
    views = [
        VersionView(
            1,
            2,
            "fraud",
            3,
            "READY",
            None,
            "None",
            None,
            None,
            None,
            None,
            "alice",
            None,
            0,
            0,
            1_700_000_000_123,
            1_700_000_001_000,
        ),
        VersionView(
            4,
            2,
            "fraud",
            4,
            "PENDING_REGISTRATION",
            "waiting",
            "Production",
            "s3://b/k",
            "r1",
            "http://run",
            "text ü",
            "bob",
            "sha256:ab",
            2,
            10,
            0,
            86_400_000,
            {"team": "risk"},
            {"auc": 0.93, "n": 3.0},
            ["champion", "z"],
        ),
    ]
    for view in views:
        written = json.loads(VersionRead.model_validate(view).model_dump_json())
        assert json.loads(pydantic_core.to_json(version_read_data(view))) == written
