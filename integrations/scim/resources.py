"""The firm's users and groups as SCIM resources (scim2-models), and the
schemas the service publishes.

The published User schema names only what CaseEngine keeps: userName, a
given and a family name, one e-mail, active, the groups (read-only here,
changed through /Groups) and a write-only password. Requests are read with
scim2-models' full User model under a tolerant policy, so what identity
providers add (the enterprise extension, phone numbers, Entra's
`emails[type eq "work"].value` path) is accepted and the attributes we do
not keep are dropped."""

from typing import Annotated

from django.contrib.auth.models import Group as AuthGroup
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    Context,
    Email,
    ETag,
    Filter,
    Group,
    GroupMember,
    GroupMembership,
    Meta,
    Mutability,
    Name,
    Patch,
    Required,
    Resource,
    ResourceType,
    Returned,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)

from users import groups as firm_groups
from users.models import User as Account

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
FIRM_GROUPS = (
    firm_groups.ADMINISTRATORS,
    firm_groups.MANAGERS,
    firm_groups.ATTORNEYS,
    firm_groups.PARALEGALS,
)
MAX_RESULTS = 200

# Identity providers send more than the RFC's strict reading allows: unknown
# attributes (dropped), Entra's `remove` with a value and its filtered paths
# to entries that do not exist yet.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


# --- the published schemas: what CaseEngine keeps ---------------------------------


class FirmName(ComplexAttribute):
    family_name: str | None = None
    given_name: str | None = None


class FirmEmail(ComplexAttribute):
    """CaseEngine keeps one e-mail: no type, and it is always the primary one."""

    value: str | None = None


class FirmGroupMembership(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only] = None
    display: Annotated[str | None, Mutability.read_only] = None


class FirmUser(Resource):
    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    name: FirmName | None = None
    display_name: Annotated[str | None, Mutability.read_only] = None
    emails: list[FirmEmail] | None = None
    active: bool | None = None
    groups: Annotated[list[FirmGroupMembership] | None, Mutability.read_only] = None
    password: Annotated[str | None, Mutability.write_only, Returned.never] = None


class FirmGroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable] = None
    display: Annotated[str | None, Mutability.read_only] = None


class FirmGroup(Resource):
    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Mutability.read_only] = None
    members: list[FirmGroupMember] | None = None


def published_schemas():
    schemas = []
    for model, name, description in (
        (FirmUser, "User", "A person who signs in to CaseEngine"),
        (FirmGroup, "Group", "One of the firm's groups"),
    ):
        schema = model.to_schema()
        schema.name = name
        schema.description = description
        schemas.append(schema)
    return schemas


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="API token",
                description="An API token of scope SCIM, created on Settings › API tokens, "
                "sent as Authorization: Bearer <token>.",
                primary=True,
            )
        ],
    )


def resource_types(base_url: str) -> list[ResourceType]:
    return [
        ResourceType(
            id="User",
            name="User",
            endpoint="/Users",
            description="A person who signs in to CaseEngine",
            schema_=USER_SCHEMA,
            meta=Meta(resource_type="ResourceType", location=f"{base_url}ResourceTypes/User"),
        ),
        ResourceType(
            id="Group",
            name="Group",
            endpoint="/Groups",
            description="One of the firm's groups",
            schema_=GROUP_SCHEMA,
            meta=Meta(resource_type="ResourceType", location=f"{base_url}ResourceTypes/Group"),
        ),
    ]


# --- accounts as resources ----------------------------------------------------------


def user_resource(account: Account, *, base_url: str, active: bool, external_id: str) -> User:
    location = f"{base_url}Users/{account.pk}"
    groups = sorted(account.groups.all(), key=lambda group: group.name)
    return User(
        id=str(account.pk),
        external_id=external_id or None,
        user_name=account.username,
        name=Name(given_name=account.first_name or None, family_name=account.last_name or None),
        display_name=account.full_name,
        emails=[Email(value=account.email)] if account.email else None,
        active=active,
        groups=[GroupMembership(value=str(group.pk), display=group.name) for group in groups]
        or None,
        meta=Meta(
            resource_type="User",
            created=account.date_joined,
            last_modified=account.date_joined,
            location=location,
        ),
    )


def group_resource(group: AuthGroup, *, base_url: str, members) -> Group:
    return Group(
        id=str(group.pk),
        display_name=group.name,
        members=[GroupMember(value=str(member.pk), display=member.full_name) for member in members]
        or None,
        meta=Meta(resource_type="Group", location=f"{base_url}Groups/{group.pk}"),
    )


def chosen_email(resource: User, current: str) -> str:
    """The one e-mail CaseEngine keeps out of the resource's list: a value
    that is new (added or written by the request), else the primary one,
    else the first; none when the list is empty."""
    values = [email.value for email in resource.emails or [] if email.value]
    if not values:
        return ""
    new = [value for value in values if value != current]
    if new:
        return new[-1]
    primary = [email.value for email in resource.emails or [] if email.primary and email.value]
    return (primary or values)[0]


def dumped(obj, *, context: Context = Context.RESOURCE_QUERY_RESPONSE, parameters=None) -> dict:
    return obj.model_dump(scim_ctx=context, response_parameters=parameters, scim_policy=POLICY)
