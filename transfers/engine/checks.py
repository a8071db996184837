"""The rules a transfer or revert must meet, checked under the locks.

Each check raises TransferRefused with the engine's code, the form field it
concerns and the clients it concerns; nothing has been changed when it does."""

from collections.abc import Collection, Mapping

from transfers.engine import faults
from transfers.errors import (
    FIELD_ASSIGNMENTS,
    FIELD_DEACTIVATE,
    FIELD_NEW_USER,
    TransferInProgress,
    TransferRefused,
)
from transfers.models import TransferJob
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import eligible_owners
from users.services import deactivation_refusal


def permission_check(acting_user: User | None) -> None:
    if (
        acting_user is None
        or not acting_user.is_active
        or not acting_user.has_perm(TRANSFER_RECORDS_PERMISSION)
    ):
        raise TransferRefused("permission_denied")


def user_id_of(value: object, *, code: str, field: str | None, client_id: int | None = None) -> int:
    """The id a user argument names (a User, an id or its text)."""
    if isinstance(value, User):
        return value.pk
    try:
        return int(str(value))
    except (TypeError, ValueError):
        client_ids = () if client_id is None else (client_id,)
        raise TransferRefused(code, field=field, client_ids=client_ids) from None


def users_lock(user_ids: Collection[int]) -> dict[int, User]:
    """Lock the rows of the users involved, always in primary-key order, so two
    transfers never deadlock."""
    locked = User.objects.select_for_update().filter(pk__in=set(user_ids)).order_by("pk")
    users = {user.pk: user for user in locked}
    faults.fault_point("locked", user_ids=sorted(users))
    return users


def active_jobs_check(*, old: User, request_key: str | None) -> None:
    """One scheduled, queued or running transfer per old user, whatever the
    door (screens, worker, command line). A job's own run (its request_key)
    goes on only while its row says running: it may have been cancelled or
    given up for dead meanwhile, and locking that row makes the reaper wait."""
    own = None
    if request_key:
        own = TransferJob.objects.select_for_update().filter(request_key=request_key).first()
        if own is not None and own.status != TransferJob.Status.RUNNING:
            raise TransferRefused("job_ended", status=own.get_status_display().lower())
    others = TransferJob.objects.filter(from_user_id=old.pk, status__in=TransferJob.ACTIVE)
    if own is not None:
        others = others.exclude(pk=own.pk)
    if (other := others.first()) is not None:
        raise TransferInProgress(other)


def receivers_check(
    *, old: User, receivers: Mapping[int, User], client_ids_by_user: Mapping[int, list[int]] | None
) -> None:
    """Every new user is someone else, active and allowed to own records."""
    field = FIELD_NEW_USER if client_ids_by_user is None else FIELD_ASSIGNMENTS

    def clients_of(user: User) -> list[int]:
        return (client_ids_by_user or {}).get(user.pk, [])

    for user in receivers.values():
        if user.pk == old.pk:
            raise TransferRefused(
                "same_user", field=field, client_ids=clients_of(user), old=old.full_name
            )
    for user in receivers.values():
        if not user.is_active:
            raise TransferRefused(
                "new_user_inactive", field=field, client_ids=clients_of(user), name=user.full_name
            )
        if user.sign_in_suspended_at is not None:
            raise TransferRefused(
                "new_user_suspended", field=field, client_ids=clients_of(user), name=user.full_name
            )
    candidates = eligible_owners().filter(pk__in=list(receivers))
    # Equivalent without "pk": values_list(flat=True) gives the primary key as well.
    eligible = set(candidates.values_list("pk", flat=True))  # pragma: no mutate
    for user in receivers.values():
        if user.pk not in eligible:
            raise TransferRefused(
                "new_user_ineligible",
                field=field,
                client_ids=clients_of(user),
                name=user.full_name,
            )


def clients_check(
    *,
    old: User,
    assigned: Collection[int],
    linked: set[int],
    expected: Collection[int] | None,
) -> None:
    """A per-client plan names exactly the clients linked to the old user, as
    the form that made it showed them."""
    if expected is not None and set(expected) != linked:
        raise TransferRefused("stale_form", old=old.full_name)
    not_linked = set(assigned) - linked
    if not_linked:
        raise TransferRefused(
            "client_not_linked",
            field=FIELD_ASSIGNMENTS,
            client_ids=not_linked,
            count=len(not_linked),
            old=old.full_name,
        )
    unassigned = linked - set(assigned)
    if unassigned:
        raise TransferRefused(
            "client_unassigned",
            field=FIELD_ASSIGNMENTS,
            client_ids=unassigned,
            count=len(unassigned),
        )


def deactivation_check(*, old: User, acting_user: User) -> None:
    """Refusals of a deactivation that do not depend on what is moved;
    owns_records is checked again after the moves, by user_set_active."""
    refusal = deactivation_refusal(user=old, acting_user=acting_user)
    if refusal is not None and refusal.code != "owns_records":
        raise TransferRefused(refusal.code, field=FIELD_DEACTIVATE, name=old.full_name)
