"""Imports every domain's models so metadata (Alembic, tests) sees all tables."""

from app.accounts import models as accounts_models  # noqa: F401
from app.core.db import Base
from app.teams import models as teams_models  # noqa: F401

metadata = Base.metadata
