"""How a client pays. The client's `payment_methods` is the one source: invoice settings
show it, and the pay link, checkout and the PDF offer what it allows."""

from app.clients.models import Client, PaymentMethod
from app.config import Settings

LABELS = {
    PaymentMethod.bank: "bank transfer",
    PaymentMethod.stripe: "card (Stripe)",
    PaymentMethod.crypto: "cryptocurrency",
}


def usable_methods(settings: Settings, client: Client) -> list[PaymentMethod]:
    """The client's methods that can be used now: bank always, a provider once configured."""
    configured = {
        PaymentMethod.bank: True,
        PaymentMethod.stripe: settings.stripe_configured,
        PaymentMethod.crypto: settings.crypto_configured,
    }
    return [PaymentMethod(m) for m in client.payment_methods if configured[PaymentMethod(m)]]


def payment_instructions(methods: list[PaymentMethod]) -> str:
    """What the invoice document says about paying it."""
    if not methods:
        return "Please quote the invoice number when you pay."
    accepted = ", ".join(LABELS[m] for m in methods)
    return f"Accepted: {accepted}. Please quote the invoice number."
