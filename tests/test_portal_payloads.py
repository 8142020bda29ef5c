"""No internal field in any portal payload: every portal response of a rich scenario
(rates, cost rates, internal task descriptions and invoice notes in the team's data) is
walked, failing on any key ending in `_amount` outside invoices, any key containing
`rate`, `cost` or `notes`, a team member's id, or the internal texts."""

import json
from pathlib import Path

from tests.factories.portal import PortalScene, link_tokens, portal_scene, redeem
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_gateway_fixture,
    crypto_server_fixture,
    stripe_api_fixture,
    stripe_server_fixture,
)

SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())
P = "/v1/portal"


def forbidden_keys(value, *, invoice: bool, where: str = "$") -> list[str]:
    """The paths of the keys no portal payload may carry."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            lowered = key.lower()
            if (
                (lowered.endswith("_amount") and not invoice)
                or "rate" in lowered
                or "cost" in lowered
                or "notes" in lowered
            ):
                found.append(f"{where}.{key}")
            found += forbidden_keys(inner, invoice=invoice, where=f"{where}.{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            found += forbidden_keys(inner, invoice=invoice, where=f"{where}[{n}]")
    return found


def test_the_walk_bites():
    assert forbidden_keys({"a": [{"billable_amount": 1}]}, invoice=False) == [
        "$.a[0].billable_amount"
    ]
    assert forbidden_keys({"total_amount": 1}, invoice=True) == []
    assert forbidden_keys({"x": {"hourly_rate_amount": 1}}, invoice=True) == [
        "$.x.hourly_rate_amount"
    ]
    assert forbidden_keys({"cost_amount": 1, "notes": ""}, invoice=True) == [
        "$.cost_amount",
        "$.notes",
    ]


def _gets(scene: PortalScene) -> list[tuple[str, dict]]:
    """Every portal GET with JSON, with the scene's ids, each list and report variant."""
    inv = scene.invoices
    return [
        ("/me", {}),
        ("/projects", {}),
        (f"/projects/{scene.seen}", {}),
        (f"/projects/{scene.seen}/tasks", {}),
        (f"/projects/{scene.seen}/comments", {}),
        (f"/projects/{scene.seen}/tasks/{scene.tasks[0]}/comments", {}),
        ("/time-entries", {}),
        ("/time-entries", {"project_id": scene.seen, "from": "2026-03-01", "to": "2026-03-31"}),
        ("/time-report", {"group_by": "project"}),
        ("/time-report", {"group_by": "day"}),
        ("/time-report", {"group_by": "week"}),
        ("/invoices", {}),
        *((f"/invoices/{inv[state]}", {}) for state in ("open", "paid", "void")),
    ]


async def test_no_internal_field_in_any_portal_payload(client, app, mailbox, run_jobs, stripe_api):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    # The team's comments, one for the client and one internal, on each kind of thread.
    for thread in (f"/projects/{scene.seen}", f"/projects/{scene.seen}/tasks/{scene.tasks[0]}"):
        for body, visibility in (("Ready?", "client"), ("internal: margin is thin", "internal")):
            r = await client.post(
                scene.owner.url(f"{thread}/comments"),
                json={"body": body, "visibility": visibility},
                headers=scene.owner.headers,
            )
            assert r.status_code == 201, r.text
    payloads: list[tuple[str, object]] = []
    for path, params in _gets(scene):
        r = await client.get(P + path, params=params, headers=scene.user.headers)
        assert r.status_code == 200, (path, r.text)
        payloads.append((path, r.json()))
    r = await client.post(
        P + f"/invoices/{scene.invoices['open']}/checkout",
        json={"provider": "stripe"},
        headers=scene.user.headers,
    )
    assert r.status_code == 200, r.text
    payloads.append((f"/invoices/{scene.invoices['open']}/checkout", r.json()))
    await client.post(
        scene.owner.url(f"/contacts/{scene.user.contact_id}/portal-access"),
        headers=scene.owner.headers,
    )
    await run_jobs()
    r = await redeem(client, link_tokens(mailbox)[-1])
    assert r.status_code == 201, r.text
    payloads.append(("/sessions", r.json()))

    # Every JSON-answering portal GET path was walked (the event stream's payloads are
    # walked by tests/test_portal_stream.py).
    templates = {
        path.removeprefix(P)
        for path, operations in SPEC["paths"].items()
        if path.startswith(P + "/")
        and "get" in operations
        and not path.endswith(("/pdf", "/events"))
    }
    walked = {
        path.replace(scene.seen, "{project_id}")
        .replace(scene.invoices["open"], "{invoice_id}")
        .replace(scene.tasks[0], "{task_id}")
        for path, _ in payloads
    }
    assert templates <= walked, templates - walked

    problems = []
    for path, payload in payloads:
        problems += [
            f"{path}: {key}"
            for key in forbidden_keys(payload, invoice=path.startswith("/invoices"))
        ]
        text = json.dumps(payload)
        if str(scene.owner.user_id) in text:
            problems.append(f"{path}: a team member's id")
        if "internal:" in text:
            problems.append(f"{path}: an internal text")
    assert not problems, "\n".join(problems)
