"""What a user holds: their counts per record type and shares, and the
clients they are linked to (they own the client, or records under it)."""

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, QuerySet

from clients.models import Client
from clients.record_types import RECORD_TYPES, RecordCounts
from transfers.receipts.selectors import count_subquery
from users.models import User


def user_holdings(*, user: User | int) -> RecordCounts:
    """How many records of each type `user` owns and how many explicit (user)
    shares they hold, in one query."""
    return _holdings(user, outside_linked=False)[0]


def user_holdings_and_shares_outside(*, user: User | int) -> tuple[RecordCounts, int]:
    """user_holdings, and how many of those shares are on records outside the
    clients linked to `user` (_shares_outside_counted), in the same one query."""
    return _holdings(user, outside_linked=True)


def _holdings(user: User | int, *, outside_linked: bool) -> tuple[RecordCounts, int]:
    user_id = getattr(user, "pk", user)
    counted = {}
    for record_type in RECORD_TYPES:
        counted[record_type.name] = count_subquery(
            record_type.model.objects.filter(owner_id=user_id)
        )
        counted[record_type.share_name] = count_subquery(
            record_type.user_share_model.objects.filter(user_id=user_id)
        )
    if outside_linked:
        counted.update(_shares_outside_counted(user_id))
    row = User.objects.filter(pk=user_id).annotate(**counted).values(*counted).first()
    if row is None:
        return RecordCounts(), 0
    holdings = RecordCounts(
        {record_type.name: row[record_type.name] for record_type in RECORD_TYPES},
        shares=sum(row[record_type.share_name] for record_type in RECORD_TYPES),
    )
    return holdings, sum(row.get(f"outside_{t.share_name}", 0) for t in RECORD_TYPES)


def held_under_client(record_type) -> str:
    """The annotation linked_clients gives a client: how many records of
    `record_type` the user holds under it ("held_" and its count field)."""
    return f"held_{record_type.count_field}"


def linked_clients(*, user: User | int) -> QuerySet[Client]:
    """Clients `user` owns or owns records under, as one query.

    Each client is annotated with `owned_by_user` (bool) and, per record type
    under a client, what the user owns under it (held_under_client), ordered
    by name and number.
    """
    user_id = getattr(user, "pk", user)
    held_under = {}
    for record_type in RECORD_TYPES:
        if not record_type.under_client:
            continue
        client_id = f"{record_type.client_field}_id"
        owned = record_type.model.objects.filter(owner_id=user_id)
        held_under[held_under_client(record_type)] = count_subquery(
            owned.filter(**{client_id: OuterRef("pk")})
        )
    return (
        Client.objects.filter(_linked_q(user_id))
        .annotate(
            owned_by_user=ExpressionWrapper(Q(owner_id=user_id), output_field=BooleanField()),
            **held_under,
        )
        .select_related("owner")
        .order_by("name", "number")
    )


def _linked_q(user_id: int) -> Q:
    """The clients `user_id` owns or owns records under."""
    linked = Q(owner_id=user_id)
    for record_type in RECORD_TYPES:
        if record_type.under_client:
            owned = record_type.model.objects.filter(owner_id=user_id)
            linked |= Q(pk__in=owned.values(f"{record_type.client_field}_id"))
    return linked


def _shares_outside_counted(user_id: int) -> dict:
    """Per record type, the count of `user_id`'s shares on records outside the
    clients linked to them: what User Transfer does not move, and what a transfer
    deactivating them revokes (transfers.engine.moves.shares_revoke)."""
    linked = Client.objects.filter(_linked_q(user_id)).order_by().values("pk")
    counted = {}
    for record_type in RECORD_TYPES:
        shares = record_type.user_share_model.objects.filter(user_id=user_id)
        if record_type.under_client:
            shares = shares.exclude(**{f"content_object__{record_type.client_field}__in": linked})
        else:
            shares = shares.exclude(content_object__in=linked)
        counted[f"outside_{record_type.share_name}"] = count_subquery(shares)
    return counted


def held_counts(client: Client) -> RecordCounts:
    """What the user of linked_clients holds in `client`, per record type."""
    return RecordCounts(
        {
            record_type.name: (
                getattr(client, held_under_client(record_type))
                if record_type.under_client
                else int(client.owned_by_user)
            )
            for record_type in RECORD_TYPES
        }
    )


def linked_client_ids(*, user: User | int) -> set[int]:
    return set(linked_clients(user=user).values_list("pk", flat=True))
