"""Tables of STS beyond role sessions: a user's own temporary credentials (``GetSessionToken``).

Like a role session, a user session stores no secret: its secret access key and session token
are derived from the platform root key and the session's key id. The row cascades with its
user, so deleting a user ends its sessions at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class UserSession(Base):
    """Temporary credentials of an IAM user, with whether MFA was presented to get them."""

    __tablename__ = "user_sessions"

    access_key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    mfa_authenticated: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
