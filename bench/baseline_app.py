"""The bare baseline for `bench/hot_read.py`: Starlette + asyncpg, no ORM, no FastAPI.

It answers `GET /v1/teams/{team_id}/clients?limit=N` for a bearer token or an `hl_` API
key by sending the very SQL Hourline sends (same statements, same transaction) and
returning byte-identical JSON. Whatever Hourline spends beyond this is framework and
application overhead.

    DATABASE_URL=postgresql://... SECRET_KEY=... uvicorn bench.baseline_app:app
"""

import base64
import hashlib
import hmac
import json
import os
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KEY = os.environ["SECRET_KEY"].encode()
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Like Hourline's, the authentication query confines the transaction to the team (row-level
# security: `app.core.tenancy.scope_to_team`).
SCOPE = "set_config('app.team_id', {team}::text, true), set_config('role', 'hourline_app', true)"
SESSION_ROLE = (
    "SELECT auth_session.id, team_membership.role, "
    + SCOPE.format(team="$1::UUID")
    + " FROM auth_session "
    "LEFT OUTER JOIN team_membership ON team_membership.user_id = auth_session.user_id "
    "AND team_membership.team_id = $1::UUID WHERE auth_session.id = $2::UUID "
    "AND auth_session.user_id = $3::UUID AND auth_session.revoked_at IS NULL"
)
KEY_ROLE = (
    "SELECT api_key.id, api_key.team_id, api_key.created_by_id, api_key.role, "
    "api_key.last_used_at, team_membership.role AS creator_role, "
    + SCOPE.format(team="api_key.team_id")
    + " FROM api_key "
    "JOIN team_membership ON team_membership.team_id = api_key.team_id "
    "AND team_membership.user_id = api_key.created_by_id WHERE api_key.key_hash = $1::VARCHAR "
    "AND api_key.revoked_at IS NULL "
    "AND (api_key.expires_at IS NULL OR api_key.expires_at > $2::TIMESTAMP WITH TIME ZONE)"
)
CLIENTS = (
    "SELECT client.name, client.email, client.currency, client.status, client.owner_id, "
    "client.created_by_id, client.payment_methods, client.hourly_rate_amount, client.address, "
    "client.tax_id, client.notes, client.stripe_customer_id, client.team_id, client.id, "
    "client.created_at, client.updated_at FROM client WHERE client.team_id = $1::UUID "
    "AND client.status = $2::client_status ORDER BY client.id ASC LIMIT $3::INTEGER"
)
MEMBERS = (
    "SELECT client_member.client_id, client_member.user_id FROM client_member "
    "WHERE client_member.client_id = ANY ($1::UUID[]) ORDER BY client_member.user_id"
)


def problem(status: int, code: str) -> Response:
    body = {"status": status, "code": code}
    return Response(json.dumps(body), status, media_type="application/problem+json")


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out))


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cursor(client_id: uuid.UUID) -> str:
    raw = json.dumps([["u", str(client_id)]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _role(conn: asyncpg.Connection, token: str, team_id: uuid.UUID) -> str | None:
    if token.startswith("hl_"):
        body, check = token[3:35], token[35:]
        if len(token) != 41 or not hmac.compare_digest(_b62(zlib.crc32(body.encode()), 6), check):
            return None
        digest = hmac.new(KEY, token.encode(), hashlib.sha256).hexdigest()
        row = await conn.fetchrow(KEY_ROLE, digest, datetime.now(UTC))
        # Hourline's roles nest here (a key's role within its creator's): the key's role.
        return row["role"] if row and row["team_id"] == team_id else None
    try:
        claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    row = await conn.fetchrow(
        SESSION_ROLE, team_id, uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
    )
    return row["role"] if row else None


async def list_clients(request: Request) -> Response:
    team_id = uuid.UUID(request.path_params["team_id"])
    limit = int(request.query_params.get("limit", "50"))
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        if await _role(conn, token, team_id) is None:
            return problem(404, "team_not_found")
        rows = await conn.fetch(CLIENTS, team_id, "active", limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        members: dict[uuid.UUID, list[str]] = {r["id"]: [] for r in rows}
        for link in await conn.fetch(MEMBERS, list(members)):
            members[link["client_id"]].append(str(link["user_id"]))
    data: list[dict[str, Any]] = [
        {
            "created_at": _stamp(r["created_at"]),
            "updated_at": _stamp(r["updated_at"]),
            "id": str(r["id"]),
            "name": r["name"],
            "email": r["email"],
            "currency": r["currency"],
            "status": r["status"],
            "owner_id": str(r["owner_id"]) if r["owner_id"] else None,
            "member_ids": members[r["id"]],
            "payment_methods": list(r["payment_methods"] or []),
            "hourly_rate_amount": r["hourly_rate_amount"],
            "address": r["address"],
            "tax_id": r["tax_id"],
            "notes": r["notes"],
        }
        for r in rows
    ]
    page = {
        "data": data,
        "has_more": has_more,
        "next_cursor": _cursor(rows[-1]["id"]) if has_more else None,
    }
    body = json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))
    app.state.pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[Route("/v1/teams/{team_id}/clients", list_clients)],
    lifespan=lifespan,
)
