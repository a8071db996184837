"""A raised limit on the number of posted fields, for User Transfer only.

Django refuses a POST of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (1,000)
when request.POST is first read, which CsrfViewMiddleware does before any view
runs. User Transfer posts one field per linked client (and one per ticked
row), so for that one URL the form body is parsed here, before the CSRF check,
with the limit of PER_CLIENT_MAX_FIELDS; every other form keeps the site-wide
limit, and the body still may not exceed DATA_UPLOAD_MAX_MEMORY_SIZE. The page
posts urlencoded (a form without enctype); a multipart post to it keeps the
site-wide limit."""

from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict

from transfers.web.forms import PER_CLIENT_MAX_FIELDS, too_many_clients_message


def parse_form(body: bytes, encoding: str | None) -> QueryDict:
    """request.POST of a urlencoded body, as QueryDict parses it, with the
    limit PER_CLIENT_MAX_FIELDS in place of the site-wide one."""
    form = QueryDict(mutable=True, encoding=encoding)
    try:
        text = body.decode(form.encoding)
    except UnicodeDecodeError:
        text = body.decode("iso-8859-1")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding=form.encoding,
            max_num_fields=PER_CLIENT_MAX_FIELDS,
        )
    except ValueError as error:
        raise TooManyFieldsSent("User Transfer: too many fields.") from error
    for key, value in pairs:
        form.appendlist(key, value)
    form._mutable = False
    return form


PER_CLIENT_VIEW_NAME = "transfers:transfer_per_client"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class PerClientTransferUploadLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "POST"
            and request.content_type == FORM_CONTENT_TYPE
            and self.is_per_client_transfer(request.path_info)
        ):
            try:
                request._post = parse_form(request.body, request.encoding)
            except TooManyFieldsSent:
                return render(
                    request,
                    "transfers/transfer_too_large.html",
                    {"message": too_many_clients_message(), "max_fields": PER_CLIENT_MAX_FIELDS},
                    status=400,
                )
            request._files = MultiValueDict()
        return self.get_response(request)

    @staticmethod
    def is_per_client_transfer(path: str) -> bool:
        try:
            return resolve(path).view_name == PER_CLIENT_VIEW_NAME
        except Resolver404:
            return False
