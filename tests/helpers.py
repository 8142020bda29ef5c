"""Assertions and small helpers shared by the test modules."""

from datetime import datetime

from app.core.errors import PROBLEM_JSON


def assert_problem(r, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The response is an RFC 9457 problem with this status (and stable `code`)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
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
