"""Writes of clients, matters, cases and deadlines that give a record an owner.

Each one locks the owner's user row and validates the owner under that lock,
so a record can never be created for, or moved to, a user whom a concurrent
transfer is deactivating: the transfer holds the row with FOR UPDATE, these
take FOR SHARE (several creations for the same owner may run at once) and
wait for it, then see the owner inactive and refuse (code owner_inactive).
If the creation goes first, the transfer waits for it and moves the record.
"""

import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from clients.models import Case, Client, Deadline, Matter, validate_owner
from clients.record_types import RECORD_MODELS
from clients.signals import owner_changed
from users.models import User


def _lock_owner(owner: User | int) -> User:
    """Re-read the owner's row under a shared lock (FOR SHARE on PostgreSQL;
    SQLite's IMMEDIATE transactions already serialise writers)."""
    owner_id = getattr(owner, "pk", owner)
    if connection.features.has_select_for_update:
        table = connection.ops.quote_name(User._meta.db_table)
        pk = connection.ops.quote_name(User._meta.pk.column)
        locked = list(
            User.objects.raw(f"SELECT * FROM {table} WHERE {pk} = %s FOR SHARE", [owner_id])
        )
        if not locked:
            raise User.DoesNotExist(f"No user with id {owner_id}")
        return locked[0]
    return User.objects.get(pk=owner_id)


def _create(model: type[Model], *, owner: User | int, **fields) -> Model:
    with transaction.atomic():
        locked_owner = _lock_owner(owner)
        validate_owner(locked_owner)
        record = model(owner=locked_owner, **fields)
        record.full_clean()
        record.save()
    return record


def client_create(
    *,
    acting_user: User | None,
    owner: User | int,
    number: str,
    name: str,
    kind: str = Client.Kind.PERSON,
    email: str = "",
    phone: str = "",
    address: str = "",
    status: str = Client.Status.ACTIVE,
) -> Client:
    """Create a client owned by `owner` (who must be active and eligible)."""
    return _create(
        Client,
        owner=owner,
        number=number,
        name=name,
        kind=kind,
        email=email,
        phone=phone,
        address=address,
        status=status,
    )


def matter_create(
    *,
    acting_user: User | None,
    owner: User | int,
    client: Client,
    number: str,
    title: str,
    practice_area: str = Matter.PracticeArea.LITIGATION,
    status: str = Matter.Status.OPEN,
) -> Matter:
    """Create a matter under `client`, owned by `owner`."""
    return _create(
        Matter,
        owner=owner,
        client=client,
        number=number,
        title=title,
        practice_area=practice_area,
        status=status,
    )


def case_create(
    *,
    acting_user: User | None,
    owner: User | int,
    matter: Matter,
    number: str,
    caption: str,
    court: str = "",
    status: str = Case.Status.OPEN,
) -> Case:
    """Create a case under `matter` (and so under its client), owned by `owner`."""
    return _create(
        Case,
        owner=owner,
        matter=matter,
        client_id=matter.client_id,
        number=number,
        caption=caption,
        court=court,
        status=status,
    )


def _completion(status: str, acting_user: User | None, now: datetime.datetime) -> dict:
    """The completion fields of a deadline given `status`: who and when for a
    done one (the name as a snapshot), nothing for an open one."""
    if status == Deadline.Status.DONE:
        return {
            "completed_by": acting_user,
            "completed_by_name": acting_user.full_name if acting_user is not None else "",
            "completed_at": now,
        }
    return {"completed_by": None, "completed_by_name": "", "completed_at": None}


def deadline_create(
    *,
    acting_user: User | None,
    owner: User | int,
    matter: Matter,
    title: str,
    due_date: datetime.date,
    due_time: datetime.time | None = None,
    kind: str = Deadline.Kind.TASK,
    case: Case | None = None,
    status: str = Deadline.Status.OPEN,
) -> Deadline:
    """Create a deadline under `matter` (and optionally one of its cases), owned
    by `owner`. One created done records `acting_user` as who completed it."""
    return _create(
        Deadline,
        owner=owner,
        matter=matter,
        case=case,
        client_id=matter.client_id,
        title=title,
        due_date=due_date,
        due_time=due_time,
        kind=kind,
        status=status,
        **_completion(status, acting_user, timezone.now()),
    )


def deadline_status_set(*, acting_user: User | None, deadline: Deadline, status: str) -> Deadline:
    """Mark a deadline done (recording who and when) or open again (clearing them).

    Marking done a deadline that is already done changes nothing: the first
    completion is the one kept."""
    return record_update(acting_user=acting_user, record=deadline, status=status)


def record_update(*, acting_user: User | None, record: Model, **changes) -> Model:
    """Change fields of one client, matter, case or deadline other than its
    owner (that is record_owner_change's), validated like the model, with the
    record's row locked. Only the changed fields (and updated_at) are written,
    so an owner given by a transfer meanwhile is kept. A case or deadline moved
    to another matter follows that matter's client; a matter moved to another
    client takes its cases and deadlines along. A deadline whose status changes
    records who completed it and when (done) or forgets it (open again)."""
    model = type(record)
    if model not in RECORD_MODELS:
        raise TypeError(f"{model.__name__} is not a client, matter, case or deadline")
    if "owner" in changes or "owner_id" in changes:
        raise ValueError("Change an owner with record_owner_change.")
    completion_fields = {"completed_by", "completed_by_name", "completed_at"}
    if model is Deadline and completion_fields & set(changes):
        raise ValueError("A deadline's completion follows its status: change the status.")
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=record.pk)
        if model is Deadline and changes.get("status", locked.status) == locked.status:
            changes.pop("status", None)  # already so: the first completion is kept
            if not changes:
                return record
        elif model is Deadline:
            changes |= _completion(changes["status"], acting_user, timezone.now())
        for name, value in changes.items():
            setattr(locked, name, value)
        fields = list(changes)
        if model in (Case, Deadline) and "matter" in changes:
            locked.client_id = locked.matter.client_id
            fields.append("client")
        locked.full_clean()
        locked.save(update_fields=[*fields, "updated_at"])
        if model is Matter and "client" in changes:
            # Cases and deadlines repeat their matter's client: they follow it.
            for under_matter in (Case, Deadline):
                under_matter.objects.filter(matter=locked).update(client_id=locked.client_id)
    for name in [*fields, "updated_at"]:
        field = model._meta.get_field(name)
        setattr(record, field.attname, getattr(locked, field.attname))
    return record


# A deployment mistake's wording, not behaviour: not mutated.
UNRECORDED_OWNER_CHANGE = (
    "An owner change must be recorded: no receiver of clients.signals.owner_changed "
    "recorded it (is the transfers app installed?)."
)


def record_owner_change(*, acting_user: User | None, record: Model, new_owner: User | int) -> Model:
    """Give one client, matter, case or deadline to `new_owner` (active and eligible),
    and record the change (who, when, from whom, to whom) in the same
    transaction through the `owner_changed` signal.

    Raises ValidationError({"owner": ...}) with code owner_inactive or
    owner_ineligible. Only the owner (and updated_at) is written; giving a
    record to its current owner writes and records nothing.
    """
    model = type(record)
    if model not in RECORD_MODELS:
        raise TypeError(f"{model.__name__} has no owner to change")
    with transaction.atomic():
        locked_owner = _lock_owner(new_owner)
        validate_owner(locked_owner)
        old_owner_id = (
            model.objects.select_for_update()
            .filter(pk=record.pk)
            .values_list("owner_id", flat=True)
        ).get()
        if old_owner_id == locked_owner.pk:
            record.owner = locked_owner
            return record
        now = timezone.now()
        model.objects.filter(pk=record.pk).update(owner=locked_owner, updated_at=now)
        recorded = owner_changed.send(
            sender=model,
            record=record,
            old_owner=User.objects.filter(pk=old_owner_id).first(),
            new_owner=locked_owner,
            acting_user=acting_user,
            changed_at=now,
        )
        if not any(response is not None for _receiver, response in recorded):
            raise ImproperlyConfigured(UNRECORDED_OWNER_CHANGE)
    record.owner = locked_owner
    record.updated_at = now
    return record
