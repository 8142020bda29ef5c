"""Bill and cost rates, made through the API."""

import uuid

from tests.factories.accounts import Actor


async def post_rate(
    http,
    actor: Actor,
    hourly_rate_amount: int | None = 10000,
    currency: str = "EUR",
    *,
    scope: str = "team",
    effective_from: str = "2026-01-01",
    **fields,
):
    """The request adding a rate (a team-wide bill rate of 100.00 EUR an hour from
    2026-01-01 unless told otherwise); the response, whatever it is."""
    body = {
        "scope": scope,
        "hourly_rate_amount": hourly_rate_amount,
        "currency": currency,
        "effective_from": effective_from,
        **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()},
    }
    return await http.post(actor.url("/rates"), json=body, headers=actor.headers)


async def add_rate(
    http,
    actor: Actor,
    hourly_rate_amount: int | None = 10000,
    currency: str = "EUR",
    *,
    scope: str = "team",
    effective_from: str = "2026-01-01",
    **fields,
) -> dict:
    """A rate, as for `post_rate`, that the API accepted."""
    r = await post_rate(
        http,
        actor,
        hourly_rate_amount,
        currency,
        scope=scope,
        effective_from=effective_from,
        **fields,
    )
    assert r.status_code == 201, r.text
    return r.json()
