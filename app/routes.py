"""Every router of the API under /v1."""

from fastapi import APIRouter

from app import health
from app.accounts import router as accounts
from app.teams import router as teams

api_router = APIRouter(prefix="/v1")
api_router.include_router(health.router)
api_router.include_router(accounts.router)
api_router.include_router(teams.router)
api_router.include_router(teams.public_router)
