"""Every router of the API under /v1."""

from fastapi import APIRouter

from app import health
from app.accounts import router as accounts
from app.clients import router as clients
from app.contacts import router as contacts
from app.core.schemas import PROBLEM_RESPONSES
from app.invoices import router as invoices
from app.payments import router as payments
from app.projects import router as projects
from app.rates import router as rates
from app.teams import router as teams
from app.time_tracking import router as time_tracking

api_router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)
api_router.include_router(health.router)
api_router.include_router(accounts.router)
api_router.include_router(teams.router)
api_router.include_router(teams.public_router)
api_router.include_router(clients.router)
api_router.include_router(invoices.router)
api_router.include_router(contacts.router)
api_router.include_router(projects.router)
api_router.include_router(time_tracking.router)
api_router.include_router(rates.router)
api_router.include_router(payments.router)
api_router.include_router(payments.public_router)
