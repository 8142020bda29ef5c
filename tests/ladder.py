"""The access ladder every team endpoint climbs: 401 -> 403 -> 404 -> success.

    401  no credentials (`not_authenticated`), and a bearer that is no token (`invalid_token`)
    403  a member of the team who may see the object but whose role may not do this
    404  another team: its superadmin on our path, our owner on its team's path, and
         another team's (or no) object named under our team - never a 403, never a leak
    2xx  the allowed caller, last, so every refusal above ran against the untouched object

One helper for every endpoint, so each test states only what differs: who is refused,
which foreign objects to try, what the success answers.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from tests.factories import Actor
from tests.helpers import assert_problem, bearer

NOT_A_TOKEN = bearer("not-a-token")


async def ladder(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    owner: Actor,
    stranger: Actor,
    forbidden: Actor | Sequence[Actor] = (),
    forbidden_code: str | None = "forbidden",
    foreign_paths: Sequence[str] = (),
    foreign_json: Any = None,
    json: Any = None,
    unchanged: Callable[[], Awaitable[None]] | None = None,
    allowed: Actor | None = None,
    ok: int = 200,
    content_type: str = "application/json",
) -> httpx.Response:
    """Walk `method path` (a path under the team, as for `Actor.url`) down the ladder.

    owner          a superadmin of the team that owns the objects in `path`
    stranger       the superadmin of another team
    forbidden      members of the owner's team the role table refuses: 403 `forbidden_code`
                   (None: any code)
    foreign_paths  paths under the owner's team naming another team's (or no) object; the
                   owner and the stranger both get a 404 on each
    foreign_json   a body naming another team's object (say, its client): the owner sending
                   it to `path` gets a 404 too
    json           the body of every other call
    unchanged      awaited after the refusals, before the allowed call: assert they left
                   no trace
    allowed        who succeeds (default: the owner), with `ok`; a 204 has no body, any
                   other success is `content_type`

    Returns the allowed call's response.
    """
    url = owner.url(path)

    async def call(headers: dict[str, str], target: str, body: Any = json) -> httpx.Response:
        return await http.request(method, target, json=body, headers=headers)

    # 401: who is calling is unknown.
    assert_problem(await call({}, url), 401, "not_authenticated")
    assert_problem(await call(NOT_A_TOKEN, url), 401, "invalid_token")

    # 403: a member who may see the object, in a role that may not do this to it.
    for actor in [forbidden] if isinstance(forbidden, Actor) else forbidden:
        assert_problem(await call(actor.headers, url), 403, forbidden_code)

    # 404: another team, whichever way round; another team's object under ours.
    assert_problem(await call(stranger.headers, url), 404)
    assert_problem(await call(owner.headers, stranger.url(path)), 404)
    for foreign in foreign_paths:
        assert foreign != path, "a foreign path must name another object"
        assert_problem(await call(owner.headers, owner.url(foreign)), 404)
        assert_problem(await call(stranger.headers, owner.url(foreign)), 404)
    if foreign_json is not None:
        assert_problem(await call(owner.headers, url, foreign_json), 404)

    if unchanged is not None:
        await unchanged()

    r = await call((owner if allowed is None else allowed).headers, url)
    assert r.status_code == ok, r.text
    if ok == 204:
        assert r.content == b""
    else:
        assert r.headers["content-type"].startswith(content_type), r.headers["content-type"]
    return r
