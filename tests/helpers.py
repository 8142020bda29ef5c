"""Assertions and small helpers shared by the test modules.

Nothing here drives a domain: tests/factories makes each domain's objects through the
API, and tests/ladder.py walks an endpoint down the 401 -> 403 -> 404 -> success ladder."""

from datetime import UTC, date, datetime

from app.core.errors import PROBLEM_JSON
from app.core.permissions import Role

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(r, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The response is an RFC 9457 problem with this status (and stable `code`)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_timestamps(obj: dict) -> None:  # type: ignore[type-arg]
    """`created_at`/`updated_at` are present and carry an offset."""
    for key in ("created_at", "updated_at"):
        stamp = datetime.fromisoformat(obj[key])
        assert stamp.tzinfo is not None, f"{key} has no offset: {obj[key]}"


# ------------------------------------------------------------------ time


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def at(
    day: int, hour: int, minute: int = 0, second: int = 0, *, month: int = 3, year: int = 2026
) -> datetime:
    """An instant in UTC, in March 2026 unless told otherwise."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def today() -> date:
    """Today in the teams' time zone (the factories create UTC teams)."""
    return datetime.now(UTC).date()


# ------------------------------------------------------------------ plain HTTP


async def list_all(http, actor, path: str, **params) -> list[dict]:
    """Every row of a paginated list, following the cursor."""
    rows: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        r = await http.get(actor.url(path), params=query, headers=actor.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        rows += page["data"]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return rows
        cursor = page["next_cursor"]


async def list_ids(http, actor, path: str, **params) -> list[str]:
    """The ids of every row of a paginated list, in its order."""
    return [row["id"] for row in await list_all(http, actor, path, **params)]


async def patch(http, actor, path: str, **body) -> dict:
    """PATCH `path` of the actor's team; it must succeed. The new state."""
    r = await http.patch(actor.url(path), json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------ role groups

# Roles that may not manage a team's members, invitations or API keys.
NON_MANAGERS = [Role.sales_manager, Role.sales_rep, Role.project_manager, Role.member]
# Roles that may create clients, contacts and activities.
MAY_CREATE_CRM = {Role.superadmin, Role.org_manager, Role.sales_manager, Role.sales_rep}
