"""The JSON API's request and response bodies (pydantic, through django-ninja)."""

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class TransferAllIn(Schema):
    from_user: str = Field(description="Username of the user whose records move")
    to_user: str = Field(description="Username of the user receiving everything")
    deactivate_old_user: bool = False
    dry_run: bool = Field(False, description="Check and preview; nothing changes")
    request_key: str | None = Field(
        None, max_length=64, description="Idempotency key: a retry returns the first outcome"
    )


class TransferPerClientIn(Schema):
    from_user: str
    plan: dict[str, str] = Field(description="Client number → username of its new user")
    deactivate_old_user: bool = False
    dry_run: bool = False
    request_key: str | None = Field(None, max_length=64)


class TransferDistributeIn(Schema):
    from_user: str
    to_users: list[str] = Field(min_length=1, description="Usernames to share the clients among")
    mode: Literal["workload", "round_robin"] = "workload"
    deactivate_old_user: bool = False
    dry_run: bool = False
    request_key: str | None = Field(None, max_length=64)


class RevertIn(Schema):
    request_key: str | None = Field(None, max_length=64)


class RecipientOut(Schema):
    to_user: str | None
    to_user_name: str
    counts: dict[str, int] = Field(
        description='Per owned record type ("client", "matter", "case", "deadline") and "shares".'
    )


class ReceiptOut(Schema):
    id: int | None
    url: str | None
    csv_url: str | None
    mode: str
    created_at: datetime
    actor_name: str
    from_user: str | None
    from_user_name: str
    deactivated_from_user: bool
    counts: dict[str, int] = Field(
        description='Per owned record type ("client", "matter", "case", "deadline") and "shares".'
    )
    revoked_share_count: int = Field(
        description=(
            "The old user's shares a deactivating transfer did not move and revoked "
            "(a revert: those it gave back); rows of the CSV with share_revoked."
        )
    )
    dry_run: bool
    replayed: bool
    recipients: list[RecipientOut]


class JobOut(Schema):
    id: int
    url: str
    status: str
    phase: str
    counts: dict[str, int] = Field(
        description='Per owned record type ("client", "matter", "case", "deadline") and "shares".'
    )
    record_count: int
    progress_percent: int
    message: str
    receipt: ReceiptOut | None


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    refusals: list[dict] = []
