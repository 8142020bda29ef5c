"""The OpenAPI description, made for generated clients.

One home for what every operation shares: its operationId (`<tag>_<verb>`, from the
route's tag and function name), the declared tags, the problem+json error responses and
the security schemes. Routers only name their tag and their function.
"""

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.core.errors import PROBLEM_JSON
from app.core.schemas import Problem

# Each router names exactly one of these (`APIRouter(tags=[...])`).
TAGS: list[dict[str, str]] = [
    {"name": "service", "description": "Whether the API and the services it needs answer."},
    {"name": "auth", "description": "Sign up, log in, refresh and log out; the current user."},
    {"name": "teams", "description": "Teams, members and roles, invitations, API keys."},
    {"name": "clients", "description": "Clients and the team members assigned to them."},
    {"name": "contacts", "description": "Contacts, their activities and their portal access."},
    {
        "name": "projects",
        "description": "Projects, boards and columns, tasks, members, viewers and figures.",
    },
    {
        "name": "comments",
        "description": "A project's thread and its tasks' comments: Markdown, client or "
        "internal, edited for 15 minutes, deleted as tombstones.",
    },
    {"name": "time", "description": "Time entries, moves with their audit trail, the timer."},
    {"name": "rates", "description": "Effective-dated bill and cost rates."},
    {
        "name": "invoices",
        "description": "Invoice settings, drafts from time, finalizing, sending and PDFs, "
        "exchange rates, scheduled invoice runs.",
    },
    {"name": "payments", "description": "Manual payments and refunds, provider checkout."},
    {"name": "pay", "description": "An invoice's public pay link: no login."},
    {
        "name": "pay_page",
        "description": "The hosted pay page (HTML, outside /v1): the page a pay link opens, "
        "its PDF, and its buttons' form posts.",
    },
    {"name": "webhooks", "description": "Signed callbacks from the payment providers."},
    {
        "name": "webhook_endpoints",
        "description": "Outgoing webhooks: the team's endpoints, signed deliveries of its "
        "events (Standard Webhooks), their log and retries.",
    },
    {
        "name": "events",
        "description": "The record of every change, oldest first, as each role may see it.",
    },
    {
        "name": "portal",
        "description": "The client portal: a contact signs in by emailed link and sees the "
        "projects it views, their time and its client's invoices (a portal token only); "
        "collaborators also comment and request tasks.",
    },
    {
        "name": "reports",
        "description": "Time, uninvoiced time, revenue, outstanding invoices and a client's "
        "profitability, in the team's base currency and time zone.",
    },
]

PORTAL_SCHEME = "portalToken"
# Team endpoints take either kind of bearer token; the schemes tell clients which.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "accessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A user access token from `/v1/auth/login` or `/v1/auth/signup`.",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hl_...",
        "description": "An `hl_` API key, bound to one team and one role, sent as "
        "`Authorization: Bearer hl_...`.",
    },
    PORTAL_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hlp_...",
        "description": "A client portal session token from `POST /v1/portal/sessions`; "
        "only portal endpoints take it, and they take nothing else.",
    },
}
# Team endpoints take either of these; portal endpoints only PORTAL_SCHEME.
TEAM_SCHEMES = ("accessToken", "apiKey")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    # Filed under `application/problem+json` by `finish_schema`.
    return {"model": Problem, "description": description}


# The errors any operation may answer (`include_routes` gives them to every router).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed request"),
    401: _problem("Missing or invalid credentials"),
    403: _problem("The caller's role forbids this"),
    404: _problem("Unknown object, or another team's"),
    409: _problem("State conflict"),
    413: _problem("The body is over 1 MiB"),
    415: _problem("The body is not JSON (`Content-Type: application/json`)"),
    422: _problem("Validation failed"),
    429: _problem("Rate limited"),
    500: _problem("An unexpected error, logged with its request id"),
    503: _problem("The database or another service the request needs is unavailable"),
}


# A route that answers a PDF document.
PDF_RESPONSE: dict[str, Any] = {
    "description": "The invoice as PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


def operation_id(route: APIRoute) -> str:
    """`<tag>_<verb>`: the route's function name without the tag's noun
    (`list_clients` in `clients` -> `clients_list`, `finalize_invoice` -> `invoices_finalize`).
    A test asserts they are unique and readable."""
    (tag,) = route.tags
    nouns = {tag, tag.removesuffix("s")}
    return "_".join([tag, *(word for word in route.name.split("_") if word not in nouns)])


# What each operation (by operationId) requires: the bearer schemes of its dependencies.
SecurityRequirements = Mapping[str, list[dict[str, list[str]]] | None]


def install_openapi(app: FastAPI, security: Callable[[], SecurityRequirements]) -> None:
    """Serve FastAPI's description of `app`, finished by `finish_schema` (built once)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_schema(generate(), security())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish_schema(schema: dict[str, Any], security: SecurityRequirements) -> dict[str, Any]:
    """Problem responses as `application/problem+json` (FastAPI files a response model under
    the route's JSON media type), and the bearer schemes wherever a token is required."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        name: dict(scheme) for name, scheme in SECURITY_SCHEMES.items()
    }
    for operations in schema["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema") == _PROBLEM_REF:
                    # Other media types (a page's HTML) stay beside it.
                    others = {k: v for k, v in content.items() if k != "application/json"}
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}, **others}
            # Every operation is in the mapping: one missing would lose its requirement.
            requirement = security[operation["operationId"]]
            if requirement:
                operation["security"] = requirement
    return schema
