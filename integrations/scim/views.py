"""SCIM 2.0 under /scim/v2/ (RFC 7643 and 7644), for the firm's identity
provider. Thin: scim2-models reads and writes the payloads, selectors read,
integrations.scim.services write."""

import json

from django.contrib.auth.models import Group as AuthGroup
from django.http import HttpRequest
from scim2_models import (
    Context,
    Group,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
    User,
)

from integrations.scim import resources, selectors, services
from integrations.scim.responses import error_response, scim_response, scim_view
from users.models import User as Account


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2/")


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntaxException(detail="The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    return body


def _method_not_allowed(request, allowed):
    response = error_response(405, f"{request.method} is not supported here.")
    response["Allow"] = ", ".join(allowed)
    return response


# --- discovery ----------------------------------------------------------------


@scim_view
def service_provider_config(request):
    if request.method != "GET":
        return _method_not_allowed(request, ["GET"])
    config = resources.service_provider_config()
    payload = resources.dumped(config)
    payload["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": base_url(request) + "ServiceProviderConfig",
    }
    return scim_response(payload)


def _listed(items: list[dict], *, start: int = 1, total: int | None = None) -> dict:
    """A ListResponse of `items`, page `start` of `total` results (all of them by default)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items) if total is None else total,
        "startIndex": start,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def _schema_payloads(request) -> list[dict]:
    payloads = []
    for schema in resources.published_schemas():
        payload = resources.dumped(schema)
        payload["meta"] = {
            "resourceType": "Schema",
            "location": base_url(request) + f"Schemas/{schema.id}",
        }
        payloads.append(payload)
    return payloads


@scim_view
def schemas(request, schema_id=None):
    if request.method != "GET":
        return _method_not_allowed(request, ["GET"])
    payloads = _schema_payloads(request)
    if schema_id is None:
        return scim_response(_listed(payloads))
    for payload in payloads:
        if payload["id"] == schema_id:
            return scim_response(payload)
    raise NotFoundException(detail=f"No schema {schema_id}.")


@scim_view
def resource_types(request, type_id=None):
    if request.method != "GET":
        return _method_not_allowed(request, ["GET"])
    payloads = [resources.dumped(item) for item in resources.resource_types(base_url(request))]
    if type_id is None:
        return scim_response(_listed(payloads))
    for payload in payloads:
        if payload["id"] == type_id:
            return scim_response(payload)
    raise NotFoundException(detail=f"No resource type {type_id}.")


# --- users ----------------------------------------------------------------------


def _user_resource(request, account) -> User:
    return resources.user_resource(
        account,
        base_url=base_url(request),
        active=services.user_is_signed_in_capable(account),
        external_id=selectors.external_id(account),
    )


def _user_payload(request, account, parameters=None, context=Context.RESOURCE_QUERY_RESPONSE):
    return resources.dumped(
        _user_resource(request, account), context=context, parameters=parameters
    )


def _parameters(model, query: dict):
    """The attributes and excludedAttributes a GET asks for, or None for all of them."""
    values = {key: query[key] for key in ("attributes", "excludedAttributes") if query.get(key)}
    return ResponseParameters[model].model_validate(values) if values else None


def _validated(model, data: dict, context: Context):
    with resources.POLICY:
        return model.model_validate(data, scim_ctx=context)


def _page(request_params: dict) -> tuple[int, int]:
    try:
        start = max(int(request_params.get("startIndex") or 1), 1)
        count = int(request_params.get("count") if request_params.get("count") is not None else 100)
    except (TypeError, ValueError) as exc:
        raise InvalidValueException(detail="startIndex and count must be integers.") from exc
    return start, min(max(count, 0), resources.MAX_RESULTS)


def _user_list(request, params: dict, parameters):
    users = selectors.scim_users(params.get("filter"))
    start, count = _page(params)
    total = users.count()
    page = users.prefetch_related("groups")[start - 1 : start - 1 + count]
    payloads = [
        _user_payload(request, account, parameters, Context.SEARCH_RESPONSE) for account in page
    ]
    return scim_response(_listed(payloads, start=start, total=total))


def _read_user(body: dict, context: Context) -> User:
    return _validated(User, {key: value for key, value in body.items() if key != "groups"}, context)


def _groups_named(body: dict) -> list[AuthGroup]:
    """The firm groups a POSTed user names in `groups` (by id or name)."""
    wanted = body.get("groups") or []
    if not isinstance(wanted, list):
        raise InvalidValueException(detail="groups must be a list.")
    found = []
    for entry in wanted:
        key = (
            str(entry.get("value") or entry.get("display") or "") if isinstance(entry, dict) else ""
        )
        group = selectors.firm_group(key)
        if group is None:
            raise InvalidValueException(
                detail=f"Unknown group {key!r}: the groups are {', '.join(resources.FIRM_GROUPS)}."
            )
        found.append(group)
    return found


def _details(resource: User, current_email: str = "") -> dict:
    name = resource.name
    return {
        "username": (resource.user_name or "").strip(),
        "first_name": (name.given_name if name and name.given_name else "")[:150],
        "last_name": (name.family_name if name and name.family_name else "")[:150],
        "email": resources.chosen_email(resource, current_email),
    }


def _user_name_free(username: str, exclude_pk=None) -> None:
    taken = Account.objects.filter(username__iexact=username)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise UniquenessException(detail=f"The userName {username} is already taken.")


@scim_view
def users(request):
    if request.method == "GET":
        parameters = _parameters(User, request.GET)
        return _user_list(request, request.GET, parameters)
    if request.method != "POST":
        return _method_not_allowed(request, ["GET", "POST"])
    body = _body(request)
    resource = _read_user(body, Context.RESOURCE_CREATION_REQUEST)
    details = _details(resource)
    arguments = {
        "token": request.api_token,
        "password": resource.password,
        "groups": _groups_named(body),
        "active": resource.active is not False,
        "external_id": resource.external_id or "",
    }
    returning = selectors.scim_deleted_user(details["username"])
    if returning is not None:
        details.pop("username")
        account = services.scim_user_return(user=returning, **arguments, **details)
    else:
        _user_name_free(details["username"])
        account = services.scim_user_create(**arguments, **details)
    account = selectors.scim_user(account.pk)
    payload = _user_payload(request, account, context=Context.RESOURCE_CREATION_RESPONSE)
    return scim_response(payload, status=201, location=payload["meta"]["location"])


@scim_view
def users_search(request):
    if request.method != "POST":
        return _method_not_allowed(request, ["POST"])
    search = _validated(SearchRequest[User], _body(request), Context.SEARCH_REQUEST)
    params = {
        "filter": str(search.filter) if search.filter else None,
        "startIndex": search.start_index,
        "count": search.count,
    }
    parameters = None
    if search.attributes or search.excluded_attributes:
        parameters = ResponseParameters[User](
            attributes=search.attributes, excluded_attributes=search.excluded_attributes
        )
    return _user_list(request, params, parameters)


def _user_update(request, account, resource: User, *, active: bool | None) -> None:
    """Write `resource` (a PUT's body, or the user as a PATCH left it) to `account`;
    `active` None leaves suspension and deprovisioning alone."""
    details = _details(resource, account.email)
    _user_name_free(details["username"], exclude_pk=account.pk)
    services.scim_user_update(
        token=request.api_token,
        user=account,
        password=resource.password,
        external_id=resource.external_id or "",
        active=active,
        **details,
    )


def _user_updated_response(request, pk, context: Context):
    return scim_response(_user_payload(request, selectors.scim_user(pk), context=context))


@scim_view
def user_detail(request, pk):
    account = selectors.scim_user(pk)
    if account is None:
        raise NotFoundException(detail=f"No user {pk}.")
    token = request.api_token
    if request.method == "GET":
        parameters = _parameters(User, request.GET)
        return scim_response(_user_payload(request, account, parameters))
    if request.method == "DELETE":
        services.scim_user_deprovision(token=token, user=account, delete=True)
        return scim_response(None, status=204)
    if request.method == "PUT":
        resource = _read_user(_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
        _user_update(request, account, resource, active=resource.active)
        return _user_updated_response(request, pk, Context.RESOURCE_REPLACEMENT_RESPONSE)
    if request.method == "PATCH":
        patch = _validated(PatchOp[User], _body(request), Context.RESOURCE_PATCH_REQUEST)
        current = _user_resource(request, account)
        was_active = current.active
        patch.patch(current, scim_policy=resources.POLICY)
        if current.active is None:
            raise InvalidValueException(
                detail="active cannot be removed: send active=false to deprovision the user."
            )
        active = None if current.active == was_active else current.active
        _user_update(request, account, current, active=active)
        return _user_updated_response(request, pk, Context.RESOURCE_PATCH_RESPONSE)
    return _method_not_allowed(request, ["GET", "PUT", "PATCH", "DELETE"])


# --- groups -----------------------------------------------------------------------


def _group_resource(request, group) -> Group:
    return resources.group_resource(
        group, base_url=base_url(request), members=selectors.group_members(group)
    )


def _group_payload(request, group, parameters=None, context=Context.RESOURCE_QUERY_RESPONSE):
    return resources.dumped(_group_resource(request, group), context=context, parameters=parameters)


@scim_view
def groups(request):
    if request.method == "POST":
        raise NotImplementedException(
            detail="The firm's groups are fixed (" + ", ".join(resources.FIRM_GROUPS) + "); "
            "map the identity provider's groups to them."
        )
    if request.method != "GET":
        return _method_not_allowed(request, ["GET"])
    parameters = _parameters(Group, request.GET)
    found = selectors.firm_groups(request.GET.get("filter"))
    start, count = _page(request.GET)
    page = found[start - 1 : start - 1 + count]
    payloads = [
        _group_payload(request, group, parameters, Context.SEARCH_RESPONSE) for group in page
    ]
    return scim_response(_listed(payloads, start=start, total=len(found)))


def _member_ids(resource: Group) -> set[int]:
    ids = set()
    for member in resource.members or []:
        try:
            ids.add(int(member.value))
        except (TypeError, ValueError) as exc:
            raise InvalidValueException(detail=f"No user {member.value!r}.") from exc
    known = set(selectors.scim_users(None).filter(pk__in=ids).values_list("pk", flat=True))
    if ids - known:
        raise InvalidValueException(detail=f"No user {sorted(ids - known)[0]}.")
    return ids


@scim_view
def group_detail(request, pk):
    group = selectors.firm_group(str(pk))
    if group is None:
        raise NotFoundException(detail=f"No group {pk}.")
    token = request.api_token
    if request.method == "GET":
        parameters = _parameters(Group, request.GET)
        return scim_response(_group_payload(request, group, parameters))
    if request.method == "DELETE":
        raise NotImplementedException(detail="The firm's groups are fixed and cannot be deleted.")
    if request.method == "PUT":
        resource = _validated(Group, _body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
        if resource.display_name and resource.display_name != group.name:
            raise InvalidValueException(detail="A firm group's name cannot be changed.")
        services.scim_group_members_set(token=token, group=group, member_ids=_member_ids(resource))
        return scim_response(
            _group_payload(request, group, context=Context.RESOURCE_REPLACEMENT_RESPONSE)
        )
    if request.method == "PATCH":
        patch = _validated(PatchOp[Group], _body(request), Context.RESOURCE_PATCH_REQUEST)
        current = _group_resource(request, group)
        patch.patch(current, scim_policy=resources.POLICY)
        if current.display_name != group.name:
            raise InvalidValueException(detail="A firm group's name cannot be changed.")
        services.scim_group_members_set(token=token, group=group, member_ids=_member_ids(current))
        return scim_response(
            _group_payload(request, group, context=Context.RESOURCE_PATCH_RESPONSE)
        )
    return _method_not_allowed(request, ["GET", "PUT", "PATCH"])


@scim_view
def search_everything(request):
    raise NotImplementedException(
        detail="Searching several resource types at once is not supported: "
        "POST to /Users/.search instead."
    )


@scim_view
def not_found(request, rest=""):
    raise NotFoundException(detail="No such SCIM endpoint.")
