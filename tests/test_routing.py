"""`app.core.routing.APIRouter` rules routers out by path before FastAPI walks their
routes; it must never rule out a path one of its routes serves."""

import re
import uuid

from app.core.routing import APIRouter
from app.routes import ROUTERS
from tests.factories.accounts import make_actor

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def _concrete(path: str) -> str:
    """A path a request could have for a route path (every parameter an id)."""
    return "/v1" + _PARAM.sub(lambda _: str(uuid.uuid4()), path)


def _scope(path: str) -> dict:
    return {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": []}


def test_every_route_passes_its_routers_guard_and_others_are_ruled_out():
    routers = [r for r in ROUTERS if isinstance(r, APIRouter)]
    assert len(routers) == len(ROUTERS), "every API router is the guarded one"
    ruled_out = 0
    for router in routers:
        guard = router._path_guard()
        assert guard is not None
        for route in router.routes:
            assert guard.search(_concrete(route.path)), route.path
        for other in routers:
            if other is router:
                continue
            ruled_out += sum(1 for r in other.routes if not guard.search(_concrete(r.path)))
    assert ruled_out > 1000  # the point: most routes are not walked for most routers


async def test_routing_answers_as_before(app, client):
    """Reports (the last router), a wrong method, an unknown path and a trailing slash."""
    owner = await make_actor(app)
    params = {"from": "2026-11-01", "to": "2026-11-30", "group_by": "client"}
    r = await client.get(owner.url("/reports/time"), params=params, headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.delete(owner.url("/reports/time"), headers=owner.headers)
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    r = await client.get(owner.url("/reports/nothing"), headers=owner.headers)
    assert r.status_code == 404 and r.json()["code"] == "route_not_found"
    r = await client.get("/v1/no/such/path")
    assert r.status_code == 404
