import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import RecordModel


class User(RecordModel):
    __tablename__ = "user_account"
    __table_args__ = (Index("uq_user_account_email_lower", func.lower(text("email")), unique=True),)

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))


class AuthSession(RecordModel):
    """One login; its refresh tokens form a family that is revoked as a whole."""

    __tablename__ = "auth_session"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(RecordModel):
    __tablename__ = "refresh_token"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_session.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    # Set when the token is exchanged; presenting it again revokes the whole session.
    used_at: Mapped[datetime | None]
