"""The events and portal lists keep one statement per shape (`app.core.statements`).

Requests reach only the shapes their callers have; this builds every shape, so a shape
that would capture a request value (`check_shaped` raises) fails here, not in production.
"""

import itertools
import uuid

import pytest

from app.core.context import Caller, TeamContext
from app.core.permissions import Role
from app.events import service as events
from app.portal import views

FLAGS = list(itertools.product((False, True), repeat=3))


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_events_list_shape_is_kept_for_any_caller_of_a_role(role: Role) -> None:
    first, second = (TeamContext(Caller("user", uuid.uuid4()), uuid.uuid4(), role) for _ in "ab")
    for after, types, since in FLAGS:
        kept = events._event_list(events.reaches_of(first), after, types, since)
        again = events._event_list(events.reaches_of(second), after, types, since)
        assert kept is again, "another caller of the same role reads the same statement"


def test_every_portal_list_shape_is_kept() -> None:
    for build in (views._project_list, views._task_list, views._invoice_list):
        assert build() is build()
    for flags in FLAGS:
        assert views._time_list(*flags) is views._time_list(*flags)
