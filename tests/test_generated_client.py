"""A client generated from openapi/openapi.json by openapi-python-client works: it signs
up, creates a client, a project, a rate and a time entry, drafts an invoice from that
time, finalizes it and downloads its PDF, over httpx's ASGI transport to the test app."""

import importlib
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
PACKAGE = "hourline_client"
CONFIG = f"""\
package_name_override: {PACKAGE}
project_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
"""


def _generate(folder: Path):  # type: ignore[no-untyped-def]
    """Generate the client package into `folder` and import it."""
    config = folder / "config.yaml"
    config.write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [generator, "generate", "--path", SPEC, "--meta", "none", "--config", config]
    result = subprocess.run(
        [*command, "--output-path", folder / PACKAGE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation must come out whole: a warning means something was left out.
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


async def test_a_generated_client_runs_signup_to_a_finalized_invoice(app, tmp_path):
    hc = _generate(tmp_path)
    from hourline_client.api.auth import auth_signup
    from hourline_client.api.clients import clients_create
    from hourline_client.api.invoices import invoices_create, invoices_finalize, invoices_get_pdf
    from hourline_client.api.projects import projects_create
    from hourline_client.api.rates import rates_create
    from hourline_client.api.time import time_create_entry
    from hourline_client.models import (
        ClientIn,
        InvoiceIn,
        InvoiceStatus,
        Problem,
        ProjectIn,
        RateIn,
        RateScope,
        SignupIn,
        SignupOut,
        TimeEntryIn,
    )

    http = {"transport": httpx.ASGITransport(app=app, raise_app_exceptions=False)}
    anonymous = hc.Client(base_url="http://test", httpx_args=http)
    signup = SignupIn(
        email="gen@example.com", password="a long password", name="Gen", team_name="Gen & Co"
    )
    r = await auth_signup.asyncio_detailed(client=anonymous, body=signup)
    assert r.status_code == 201, r.content
    assert isinstance(r.parsed, SignupOut)
    team_id = r.parsed.team.id
    api = hc.AuthenticatedClient(
        base_url="http://test", token=r.parsed.access_token, httpx_args=http
    )

    acme = await clients_create.asyncio(
        client=api, team_id=team_id, body=ClientIn(name="Acme", currency="EUR")
    )
    project = await projects_create.asyncio(
        client=api, team_id=team_id, body=ProjectIn(name="Website", client_id=acme.id)
    )
    rate = RateIn(
        scope=RateScope.TEAM,
        hourly_rate_amount=12000,
        currency="EUR",
        effective_from=date(2026, 1, 1),
    )
    assert (await rates_create.asyncio(client=api, team_id=team_id, body=rate)).id
    entry = await time_create_entry.asyncio(
        client=api,
        team_id=team_id,
        body=TimeEntryIn(
            project_id=project.id,
            started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
            ended_at=datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
            note="Design review",
        ),
    )
    assert entry.duration_seconds == 5400

    draft = await invoices_create.asyncio(
        client=api,
        team_id=team_id,
        body=InvoiceIn(
            client_id=acme.id, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31)
        ),
    )
    assert draft.status == InvoiceStatus.DRAFT
    assert [line.time_entry_ids for line in draft.lines] == [[entry.id]]
    assert draft.total_amount == 18000  # 1.5 h at 120.00 EUR

    invoice = await invoices_finalize.asyncio(client=api, team_id=team_id, invoice_id=draft.id)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.number and invoice.amount_due == 18000

    pdf = await invoices_get_pdf.asyncio(client=api, team_id=team_id, invoice_id=invoice.id)
    assert pdf.payload.read().startswith(b"%PDF")

    # Errors come back as the declared Problem.
    again = await invoices_finalize.asyncio(client=api, team_id=team_id, invoice_id=draft.id)
    assert isinstance(again, Problem) and again.status == 409, again
