"""How the doors show a refusal of users.services: the service's message, and
for the refusals a transfer resolves, a link to User Transfer All for the user."""

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from users.models import User
from users.services import TRANSFER_FIRST_CODES


def refusal_html(message: str, code: str | None, user: User) -> str:
    """`message`, with a link to User Transfer All for `user` when `code` is
    one a transfer resolves (escaped, safe to render)."""
    if code not in TRANSFER_FIRST_CODES:
        return format_html("{}", message)
    url = reverse("transfers:transfer_all", kwargs={"user_pk": user.pk})
    return format_html('{} <a href="{}">User Transfer All for {}</a>', message, url, user.full_name)


def with_transfer_link(error: ValidationError, user: User) -> ValidationError:
    """The same refusal (same codes, same fields) with the link in its messages."""
    if hasattr(error, "error_dict"):
        return ValidationError(
            {
                field: [with_transfer_link(item, user) for item in items]
                for field, items in error.error_dict.items()
            }
        )
    return ValidationError(
        [
            ValidationError(refusal_html(message, item.code, user), code=item.code)
            for item in error.error_list
            for message in item.messages
        ]
    )
