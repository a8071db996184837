"""Reads for the identity provider's door: the users it sees (all but those
it deleted) and the firm's groups, with SCIM's filters on them."""

from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import Comparison, LogicalExpr

from integrations.models import ScimIdentity
from integrations.scim.resources import FIRM_GROUPS
from users.models import User

# The attributes a filter may compare with `eq`, and the field each reads.
USER_FILTER_FIELDS = {
    "username": "username__iexact",
    "externalid": "scim_identity__external_id",
    "id": "pk",
    "emails.value": "email__iexact",
    "emails": "email__iexact",
}
GROUP_FILTER_FIELDS = {"displayname": "name__iexact", "id": "pk"}


def _filter_q(text: str, fields: dict[str, str]) -> Q:
    """A Q for a filter of `eq` comparisons joined by `and` / `or` on the
    attributes in `fields`; InvalidFilterException for anything else."""
    try:
        tree = ScimFilter(text).ast
    except Exception as exc:
        raise InvalidFilterException(detail=f"The filter {text!r} cannot be read.") from exc

    def to_q(node) -> Q:
        if isinstance(node, LogicalExpr):
            parts = [to_q(term) for term in node.terms]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if node.op.value == "and" else combined | part
            return combined
        if isinstance(node, Comparison) and node.op.value == "eq":
            path = node.attr_path
            attribute = (path.attr + (f".{path.sub_attr}" if path.sub_attr else "")).lower()
            field = fields.get(attribute)
            if field is not None:
                value = node.value
                if field == "pk":
                    try:
                        value = int(value)
                    except (TypeError, ValueError):
                        return Q(pk__in=[])
                return Q(**{field: value})
        raise InvalidFilterException(
            detail="Only eq comparisons of "
            + ", ".join(sorted(fields))
            + " (joined by and / or) are supported."
        )

    return to_q(tree)


def scim_users(filter_text: str | None) -> QuerySet[User]:
    users = User.objects.exclude(scim_identity__deleted_at__isnull=False)
    if filter_text:
        users = users.filter(_filter_q(filter_text, USER_FILTER_FIELDS))
    return users.order_by("pk")


def scim_user(pk) -> User | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return scim_users(None).prefetch_related("groups").filter(pk=pk).first()


def external_id(user: User) -> str:
    return (
        ScimIdentity.objects.filter(user=user).values_list("external_id", flat=True).first() or ""
    )


def firm_groups(filter_text: str | None) -> list[Group]:
    found = Group.objects.filter(name__in=FIRM_GROUPS)
    if filter_text:
        found = found.filter(_filter_q(filter_text, GROUP_FILTER_FIELDS))
    order = {name: index for index, name in enumerate(FIRM_GROUPS)}
    return sorted(found, key=lambda group: order[group.name])


def firm_group(key: str) -> Group | None:
    """A firm group by its SCIM id or its name."""
    found = Group.objects.filter(name__in=FIRM_GROUPS)
    if key.isdigit():
        return found.filter(pk=int(key)).first()
    return found.filter(name__iexact=key).first()


def group_members(group: Group) -> list[User]:
    return list(scim_users(None).filter(groups=group))


def scim_deleted_user(username: str) -> User | None:
    """The account of `username` if the identity provider deleted it."""
    return User.objects.filter(
        username__iexact=username, scim_identity__deleted_at__isnull=False
    ).first()
