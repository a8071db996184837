"""A view's own limit on the number of posted fields.

Django refuses a POST of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (1,000)
when request.POST is first read, which CsrfViewMiddleware does before the view
runs. A view that needs more says so with a `post_field_limit` attribute
(transfers.web.forms.PostFieldLimit: the most fields, and the page that refuses
more). Its urlencoded form is parsed here with that limit, once the view is
known and only for a signed-in user whom the view's own permission check
admits; anonymous posts, users without the view's permissions and every other
view keep the site-wide limit, so nobody else makes the server parse a large
body. The body still may not exceed DATA_UPLOAD_MAX_MEMORY_SIZE; a multipart
post keeps the site-wide limit. Listed before CsrfViewMiddleware, whose
process_view reads request.POST; request.user is already set by then."""

from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def parse_form(body: bytes, encoding: str | None, max_fields: int) -> QueryDict:
    """request.POST of a urlencoded body, as QueryDict parses it, with the limit
    `max_fields` in place of the site-wide one."""
    form = QueryDict(mutable=True, encoding=encoding)
    try:
        text = body.decode(form.encoding)
    except UnicodeDecodeError:
        text = body.decode("iso-8859-1")
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, encoding=form.encoding, max_num_fields=max_fields
        )
    except ValueError as error:
        raise TooManyFieldsSent(f"More than {max_fields} fields.") from error
    for key, value in pairs:
        form.appendlist(key, value)
    form._mutable = False
    return form


def view_admits(view_class, request, view_args, view_kwargs) -> bool:
    """Whether the view's own permission check lets the signed-in user in; a view
    without one raises no limit."""
    if not request.user.is_authenticated:
        return False
    view = view_class()
    view.setup(request, *view_args, **view_kwargs)
    has_permission = getattr(view, "has_permission", None)
    return has_permission is not None and has_permission()


class ViewPostFieldLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "view_class", None)
        limit = getattr(view_class, "post_field_limit", None)
        if (
            limit is None
            or request.method != "POST"
            or request.content_type != FORM_CONTENT_TYPE
            or not view_admits(view_class, request, view_args, view_kwargs)
        ):
            return None
        try:
            request._post = parse_form(request.body, request.encoding, limit.max_fields)
        except TooManyFieldsSent:
            return render(request, limit.refusal_template, limit.refusal_context(), status=400)
        request._files = MultiValueDict()
        return None


# The one character PostgreSQL refuses in text (a query string is decoded as
# UTF-8 with replacement, so no other character it rejects can arrive).
UNSTORABLE_CHARACTERS = ("\x00",)


def holds_unstorable_character(text: str) -> bool:
    return any(character in text for character in UNSTORABLE_CHARACTERS)


class UnstorableQueryMiddleware:
    """Drops from the query string, on every page, each search or filter value
    (or parameter name) holding a character PostgreSQL refuses in text: passed
    on to a query, it would fail with a DataError, a 500. The page answers as
    if it had not been given, as it ignores an unknown value."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(
            holds_unstorable_character(name) or any(map(holds_unstorable_character, values))
            for name, values in request.GET.lists()
        ):
            cleaned = QueryDict(mutable=True)
            for name, values in request.GET.lists():
                if not holds_unstorable_character(name):
                    kept = [value for value in values if not holds_unstorable_character(value)]
                    if kept:
                        cleaned.setlist(name, kept)
            cleaned._mutable = False
            request.GET = cleaned
        return self.get_response(request)
