"""``db.Prepared``: statements sent to SQLite's cursor directly behave, and fail, as the same
statements through SQLAlchemy do on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from charter.api.state import AppState
from charter.db import Prepared
from charter.registry.models import RegisteredModel, RegisteredModelTag

_ADD_TAG = Prepared(
    insert(RegisteredModelTag).values(
        model_id=bindparam("t_model"), key=bindparam("t_key"), value=bindparam("t_value")
    )
)
_TAGS = Prepared(
    select(RegisteredModelTag.key, RegisteredModelTag.value)
    .where(RegisteredModelTag.model_id == bindparam("t_model"))
    .order_by(RegisteredModelTag.key)
)


def a_model(state: AppState) -> int:
    with state.db.transaction(write=True) as session:
        model = RegisteredModel(name="prepared", owner="test", next_version=1)
        session.add(model)
        session.flush()
        return model.id


def test_a_write_and_a_read_in_one_transaction(state: AppState) -> None:
    model_id = a_model(state)
    with state.db.transaction(write=True) as session:
        _ADD_TAG.run(session, {"t_model": model_id, "t_key": "b", "t_value": "2"})
        _ADD_TAG.run(session, {"t_model": model_id, "t_key": "a", "t_value": "1"})
        assert [tuple(r) for r in _TAGS.rows(session, {"t_model": model_id})] == [
            ("a", "1"),
            ("b", "2"),
        ]


def test_a_broken_constraint_is_sqlalchemys_integrity_error_and_nothing_is_kept(
    state: AppState,
) -> None:
    model_id = a_model(state)
    tag = {"t_model": model_id, "t_key": "k", "t_value": "v"}

    def add_twice() -> None:
        with state.db.transaction(write=True) as session:
            _ADD_TAG.run(session, {"t_model": model_id, "t_key": "other", "t_value": "x"})
            _ADD_TAG.run(session, tag)
            _ADD_TAG.run(session, tag)  # the same key again: the primary key refuses it

    with pytest.raises(IntegrityError):
        add_twice()
    with state.db.transaction(write=False) as session:
        assert _TAGS.rows(session, {"t_model": model_id}) == []
