"""``--since/--until`` and the query API's times: ISO 8601 dates or times, UTC by default."""

from __future__ import annotations

import pytest

from charter.audit.schemas import iso, parse_instant
from charter.errors import InvalidArgument

MIDNIGHT = 1_774_915_200_000  # 2026-03-31T00:00:00Z
DAY = 86_400_000


class TestParseInstant:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-03-31", MIDNIGHT),
            ("2026-03-31T00:00:00Z", MIDNIGHT),
            ("2026-03-31T00:00:00", MIDNIGHT),
            ("2026-03-31T02:00:00+02:00", MIDNIGHT),
            ("2026-03-31T00:00:01.250Z", MIDNIGHT + 1250),
        ],
    )
    def test_dates_and_times(self, text: str, expected: int) -> None:
        assert parse_instant(text, field="since") == expected

    def test_a_date_as_the_end_of_a_period_includes_that_whole_day(self) -> None:
        assert parse_instant("2026-03-31", field="until", end_of_day=True) == MIDNIGHT + DAY
        assert parse_instant("2026-03-31T12:00:00Z", field="until", end_of_day=True) == (
            MIDNIGHT + DAY // 2
        )

    @pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "31/03/2026", ""])
    def test_anything_else_is_refused_naming_the_field(self, text: str) -> None:
        with pytest.raises(InvalidArgument, match="until") as caught:
            parse_instant(text, field="until")
        assert caught.value.details == {"field": "until"}

    def test_times_are_written_back_in_utc_with_z(self) -> None:
        assert iso(MIDNIGHT + 5) == "2026-03-31T00:00:00.005Z"
