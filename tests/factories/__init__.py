"""Factories: each domain's objects made through Hourline's own API (or, for users and
teams, its services), one module per domain, each factory defined once - with the few
readers and checks of that domain that several test modules share.

    accounts      Actor, make_actor
    teams         team settings, members, invitations, API keys
    clients       clients (with their project and contacts)
    contacts      contacts, activities, portal links
    projects      projects, members, boards, columns, tasks; small worlds built on them
    time_tracking time entries and the timer
    rates         bill and cost rates
    invoices      drafts, finalizing, invoice settings, exchange rates
    payments      payable clients, open invoices, payments, refunds, checkout

The actors are re-exported here; everything else is imported from its domain module.
"""

from tests.factories.accounts import Actor, make_actor

__all__ = ["Actor", "make_actor"]
