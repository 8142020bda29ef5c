"""Imports every domain's models so metadata (Alembic, tests) sees all tables."""

from app.accounts import models as accounts_models  # noqa: F401
from app.clients import models as clients_models  # noqa: F401
from app.comments import models as comments_models  # noqa: F401
from app.contacts import models as contacts_models  # noqa: F401
from app.core.db import Base
from app.events import models as events_models  # noqa: F401
from app.invoices import models as invoices_models  # noqa: F401
from app.payments import models as payments_models  # noqa: F401
from app.projects import models as projects_models  # noqa: F401
from app.rates import models as rates_models  # noqa: F401
from app.teams import models as teams_models  # noqa: F401
from app.time_tracking import models as time_models  # noqa: F401
from app.webhooks import models as webhooks_models  # noqa: F401

metadata = Base.metadata
