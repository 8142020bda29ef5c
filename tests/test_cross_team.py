"""The cross-team matrix, generated from openapi/openapi.json: every operation with an id
in its path, called by another team's superadmin and by its API key, must answer 404
(or 405/422): never a 2xx that reads or changes the other team, never a 5xx. Endpoints
added later are in the matrix without a change here.

Each operation is called twice per credential: on the home team's path with the home
team's ids (the team check), and, where the path names more than the team, on the
stranger's own team with the home team's object ids (the scoping of every look-up). A
body, where there is one, names home objects too (`client_id`, `project_ids`, ...).
"""

import json
from pathlib import Path

from app.models import metadata
from tests.helpers import assert_problem, bearer
from tests.world import MARK, World, body_from_schema, build_world, fill, path_ids

SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())
REFUSED = {404, 405, 422}
_TEAM_TABLES = [t for t in metadata.sorted_tables if "team_id" in t.c]


def _operations_with_ids():
    for path, operations in SPEC["paths"].items():
        # Portal paths take a contact's portal token, never a team's credentials (a 401
        # here): tests/test_portal_matrix.py calls them with every contact of two teams.
        if not path_ids(path) or path.startswith("/v1/portal/"):
            continue
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _body(operation, ids):  # type: ignore[no-untyped-def]
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return body_from_schema(content["application/json"]["schema"], SPEC, ids)


async def _home_rows(app, team_id: str) -> dict[str, list]:
    """Every row the home team owns, in full."""
    async with app.state.db.engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in await conn.execute(
                    table.select().where(table.c.team_id == team_id).order_by(*table.primary_key)
                )
            ]
            for table in _TEAM_TABLES
        }


def _calls(world: World):
    """(method, url, json, headers, what) of every call in the matrix."""
    home, stranger = world.home, world.stranger
    for method, path, operation in _operations_with_ids():
        body = _body(operation, home.ids)
        targets = [fill(path, home.ids)]
        if len(path_ids(path)) > 1:
            targets.append(fill(path, home.ids, team_id=stranger.team_id))
        for url in targets:
            for who, token in (
                ("superadmin", stranger.owner.access_token),
                ("api key", stranger.api_key),
            ):
                yield method, url, body, bearer(token), f"{method} {path} as {who} -> {url}"


async def test_another_team_can_neither_read_nor_change_anything(client, app):
    world = await build_world(client, app)
    before = await _home_rows(app, world.home.team_id)
    assert all(before[t] for t in ("client", "project", "invoice", "payment", "time_entry"))

    wrong: list[str] = []
    statuses: dict[int, int] = {}
    calls = 0
    for method, url, body, headers, what in _calls(world):
        r = await client.request(method, url, json=body, headers=headers)
        calls += 1
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code not in REFUSED:
            wrong.append(f"{what}: {r.status_code} {r.text[:200]}")
            continue
        assert_problem(r, r.status_code)
        if MARK in r.text:
            wrong.append(f"{what}: the answer shows a home object: {r.text[:200]}")

    print(f"cross-team matrix: {calls} calls, statuses {dict(sorted(statuses.items()))}")
    assert not wrong, "\n".join(wrong)
    operations = sum(1 for _ in _operations_with_ids())
    assert operations > 80 and calls >= 2 * operations
    # Most calls must reach the tenancy check, not stop at validation.
    assert statuses.get(404, 0) > 0.8 * calls, statuses
    assert await _home_rows(app, world.home.team_id) == before
