import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.core.routing import APIRouter

router = APIRouter(tags=["service"])

_TIMEOUT = 2.0


class Health(BaseModel):
    status: str
    database: str
    redis: str


async def _database_ok(request: Request) -> bool:
    db = request.app.state.db
    if db is None:
        return False
    try:
        async with asyncio.timeout(_TIMEOUT), db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_ok(request: Request) -> bool:
    redis = request.app.state.redis
    if redis is None:
        return False
    try:
        async with asyncio.timeout(_TIMEOUT):
            return bool(await redis.ping())
    except Exception:
        return False


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """200 when PostgreSQL and Redis answer, else 503. No auth."""
    db_ok, redis_ok = await asyncio.gather(_database_ok(request), _redis_ok(request))
    body = Health(
        status="ok" if db_ok and redis_ok else "unavailable",
        database="ok" if db_ok else "unavailable",
        redis="ok" if redis_ok else "unavailable",
    )
    return JSONResponse(body.model_dump(), status_code=200 if db_ok and redis_ok else 503)
