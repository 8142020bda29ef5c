"""Payment providers: Stripe, and a PassimPay-style crypto gateway (see docs/payments.md)."""


class EventNotReady(Exception):
    """The event refers to something not recorded yet (e.g. a refund before its payment)."""
