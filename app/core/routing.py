"""The API's router: FastAPI's, which first asks whether a path can be one of its own.

FastAPI matches a request by trying every route of every included router in turn, a
regular expression and some bookkeeping each (~2 us). With ~150 routes, a path served
by one of the last routers (reports, portal) paid ~0.25 ms before its handler ran. This
router answers "no match" at once for a path none of its routes can match: one search
of its routes' patterns combined, so the walk only enters the routers that may hold
the route. A path that may match goes through FastAPI's own matching unchanged (methods,
405s and trailing slashes included); the check never decides a match, it only rules
routers out.
"""

import re
from typing import Any

from fastapi import APIRouter as FastAPIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

_GROUP = re.compile(r"\(\?P<[^>]+>")


class APIRouter(FastAPIRouter):
    """`fastapi.APIRouter`, ruling out the paths none of its routes match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard: tuple[int, re.Pattern[str] | None] = (-1, None)

    def _path_guard(self) -> re.Pattern[str] | None:
        """Every route's path pattern in one: a path this router may serve ends with a
        match of one of them (its mount prefix, `/v1`, comes before). None when a route
        has no pattern of its own (then every path is tried the usual way)."""
        count, guard = self._guard
        if count == len(self.routes):
            return guard
        patterns = []
        for route in self.routes:
            if not isinstance(route, APIRoute):
                patterns = []
                break
            # `^/teams/(?P<team_id>[^/]+)/clients$` -> `/teams/(?:[^/]+)/clients`
            patterns.append(_GROUP.sub("(?:", route.path_regex.pattern.lstrip("^").rstrip("$")))
        guard = re.compile(f"(?:{'|'.join(patterns)})$") if patterns else None
        self._guard = (len(self.routes), guard)
        return guard

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            guard = self._path_guard()
            if guard is not None and guard.search(scope["path"]) is None:
                return Match.NONE, {}
        return super().matches(scope)
