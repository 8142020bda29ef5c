"""Every router of the API under /v1."""

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import health
from app.accounts import router as accounts
from app.auth.dependencies import security_requirement
from app.clients import router as clients
from app.comments import router as comments
from app.contacts import router as contacts
from app.core.openapi import PROBLEM_RESPONSES, SecurityRequirements, operation_id
from app.events import router as events
from app.invoices import router as invoices
from app.payments import page
from app.payments import router as payments
from app.portal import router as portal
from app.projects import router as projects
from app.rates import router as rates
from app.reports import router as reports
from app.teams import router as teams
from app.time_tracking import router as time_tracking
from app.webhooks import router as webhooks

# Each router is included straight into the app under /v1 (see `include_routes`): every
# level of nested routers is walked again on every request.
ROUTERS = [
    health.router,
    accounts.router,
    teams.router,
    teams.public_router,
    clients.router,
    invoices.router,
    contacts.router,
    projects.router,
    comments.router,
    time_tracking.router,
    rates.router,
    payments.router,
    payments.public_router,
    payments.webhook_router,
    webhooks.router,
    events.router,
    portal.router,
    comments.portal_router,
    comments.public_router,
    reports.router,
]


def include_routes(app: FastAPI) -> None:
    """Mount every router of the API under /v1, with the problem responses they share and
    operationIds made from their tag and function name; then the pages, outside /v1 (they
    answer HTML, their errors included)."""
    for router in ROUTERS:
        app.include_router(
            router,
            prefix="/v1",
            responses=PROBLEM_RESPONSES,
            generate_unique_id_function=operation_id,
        )
    app.include_router(page.page_router, generate_unique_id_function=operation_id)


def security_by_operation() -> SecurityRequirements:
    """What each operation requires (`app.auth.dependencies.security_requirement`)."""
    return {
        operation_id(route): security_requirement(route)
        for router in [*ROUTERS, page.page_router]
        for route in router.routes
        if isinstance(route, APIRoute)
    }
