"""Schemathesis over the ASGI app: generated requests to every operation of the committed
OpenAPI description, every check on, as the superadmin of a team holding one of each
object (tests/world.py). Any 5xx, any answer the description does not document (status,
content type, headers, body schema) fails.

Bounded to stay a small part of `make test`: a fixed seed, `MAX_EXAMPLES` fuzzed cases an
operation besides the examples and coverage phases, no shrinking, a deadline per case;
the stateful phase is off (the world gives every id a real object instead).

Exclusions, each with its reason:
- Generated strings hold no NUL (`allow-x00 = false`): PostgreSQL cannot store U+0000,
  so the API refuses it (422 `invalid_character`, tests/test_bad_input.py).
- `positive_data_acceptance` accepts a 4xx for schema-valid data only for the rules in
  `ALLOWED_REJECTIONS`, which JSON Schema cannot state; any other refusal fails.
- Path ids the generator made up are replaced by the world's real ids (only well-formed
  ones: a malformed id stays, so negative cases stay negative), or every case would stop
  at a 404.
"""

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.cli import openapi_schema
from app.main import create_app
from tests.helpers import bearer
from tests.world import build_world, path_ids

MAX_EXAMPLES = 10
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260301,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "allow-x00": False,
            "no-shrink": True,
            # Same cases every run, and no .hypothesis/ folder left behind.
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
    }
)

# The refusals a schema-valid request may get, by problem `code` (and, for
# `validation_error`, by the type of each error): rules JSON Schema cannot state.
ALLOWED_REJECTIONS: dict[str, str] = {
    # Rules over other objects or the team's state: the id is well formed, the object is not
    # the team's or not in the right relation to the others (API.md: 422, or 409).
    "unknown_client": "a client_id that is not a client of the team",
    "unknown_project": "a project_id that is not a project of the team",
    "unknown_contact": "a contact_id that is not a contact of the team",
    "unknown_task": "a task_id that is not a task of the project",
    "not_team_member": "a user id that is not a member of the team",
    "assignee_not_project_member": "a task assignee who is not on the project",
    "expires_in_past": "an API key expiry before now: the schema cannot know the clock",
    "api_key_role_not_allowed": "an API key never acts as superadmin nor above its creator",
    "payment_method_not_allowed": "a checkout with a provider the client may not pay by",
    "refund_exceeds_payment": "a refund above what is left of the payment",
    "no_billing_contact": "sending needs a billing contact or the client's own email",
    "contact_email_required": "a billing contact needs an email (either may be sent alone)",
    "contact_client_required": "a billing contact belongs to a client",
    "due_date_before_issue_date": "a due date before the issue date (two fields, one rule)",
    "issue_date_before_last_invoice": "numbers follow issue dates: a date before the last one",
    "client_currency_locked": "a client's currency is fixed once rates, invoices or time use it",
    "base_currency_locked": "a team's base currency is fixed once invoices or rates use it",
    "time_entry_max_below_min": "a team's entry minimum above the maximum it already has "
    "(two fields, one rule, the other one stored)",
    "invalid_cursor": "a cursor the API did not hand out (they are opaque)",
    "report_period_invalid": "a report's `to` before its `from` (two parameters, one rule)",
    "report_period_too_long": "a report covers at most three years",
    "report_then_by_same": "a report's second grouping repeats its first",
    "missing_signature": "a webhook without the provider's signature header",
    "invalid_signature": "a webhook whose body the provider did not sign",
    "webhook_url_not_allowed": "a webhook URL must be http(s) to a host that resolves to "
    "public addresses: DNS, not the schema, decides",
    "webhook_endpoint_disabled": "a disabled endpoint is neither pinged nor retried",
    # Field rules beyond JSON Schema, reported as `validation_error` / error types.
    "date_out_of_range": "dates and instants are kept to 2000-01-01..2100-12-31",
    "date_format": "reported beside date_out_of_range for a date-or-instant (`from`, `to`)",
    "datetime_format": "reported beside date_out_of_range for a date-or-instant",
    "decimal_parsing": "a decimal may come as a string; JSON Schema cannot say which strings",
    "decimal_max_places": "quantities have 4 decimal places and exchange rates 10",
    "int_type": "JSON Schema's integer admits 3.0; Hourline refuses it on purpose "
    "(tests/test_bad_input.py), so only for a float sent",
    "value_error:ISO 4217": "a currency is 3 letters the money table knows (app/core/money.py)",
    "value_error:IANA time zone": "a time zone the system's tz database knows",
    "value_error:special-use or reserved name": "email-validator refuses reserved domains "
    "(`.test`, `localhost`), which `format: email` allows",
    "string_too_short": "text is stripped of surrounding whitespace before its length counts",
}


class _App:
    """The ASGI app schemathesis calls, set by the `fuzz_app` fixture: the schema and its
    operations are made at import, before the test services and settings exist."""

    target = None

    async def __call__(self, scope, receive, send):
        assert self.target is not None, "the fuzz_app fixture sets the app"
        await self.target(scope, receive, send)


schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG)
schema.app = _APP = _App()
RUN = {"cases": 0}
OPERATIONS: set[str] = set()


@pytest.fixture(scope="session")
def fuzz_app(settings):
    """The app as schemathesis calls it: its own instance, on schemathesis' event loop,
    with the payment providers' webhook secrets set (unset, webhooks answer 503)."""
    configured = settings.model_copy(
        update={"stripe_webhook_secret": "whsec_fuzz", "crypto_webhook_secret": "fuzz"}
    )
    _APP.target = create_app(configured)
    return _APP.target


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    """Say how many cases ran, past pytest's output capture."""
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\nschemathesis: {RUN['cases']} cases, {len(OPERATIONS)} operations")


@pytest.fixture
async def world(client, app):
    return await build_world(client, app)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=5000, database=None)
def test_api(case, fuzz_app, world):
    home = world.home
    for segment, param in path_ids(case.operation.path):
        if _is_uuid(case.path_parameters.get(param)):
            case.path_parameters[param] = home.ids[segment]
    RUN["cases"] += 1
    OPERATIONS.add(case.operation.label)
    response = case.call_and_validate(
        headers=bearer(home.owner.access_token), excluded_checks=[positive_data_acceptance]
    )
    _check_positive_data_accepted(case, response)


def _check_positive_data_accepted(case, response) -> None:
    """Schemathesis' `positive_data_acceptance`, less the rules in ALLOWED_REJECTIONS."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 422):
        return
    if any(v.startswith("text/html") for v in response.headers.get("content-type", [])):
        # The pay page's own refusal, as a page: the checkout's state rules (a method the
        # client may not use, an invoice not open), the same as `/v1/pay/{token}/checkout`.
        return
    problem = response.json()
    errors = problem.get("errors") or []
    reasons = [_allowed(case, error) for error in errors] or [problem["code"] in ALLOWED_REJECTIONS]
    if not all(reasons):
        raise AssertionError(
            f"{case.operation.label}: schema-valid data refused with {response.status_code} "
            f"{problem}; fix the schema or the app, or list the rule in ALLOWED_REJECTIONS.\n"
            f"{case.as_curl_command()}"
        )


def _allowed(case, error) -> bool:
    kind = error.get("type", "")
    if kind == "value_error":
        return any(
            key.startswith("value_error:") and key.removeprefix("value_error:") in error["msg"]
            for key in ALLOWED_REJECTIONS
        )
    if kind == "int_type":
        return isinstance(_sent(case, error["loc"]), float)
    return kind in ALLOWED_REJECTIONS


def _sent(case, loc):
    """The value the case sent at a validation error's `loc` (`["body", "lines", 0, "x"]`)."""
    where, *path = loc
    value = {"body": case.body, "query": case.query, "path": case.path_parameters}.get(where)
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
