from urllib.parse import urlencode

from django import template
from django.urls import reverse

from clients.filters import stranded_deadlines_count, stranded_deadlines_query

register = template.Library()


@register.simple_tag
def stranded_deadlines() -> dict:
    """How many open deadlines of the next 30 days belong to suspended or
    inactive users, and the Deadlines grid filtered on them."""
    url = reverse("clients:deadline_list") + "?" + urlencode(stranded_deadlines_query())
    return {"count": stranded_deadlines_count(), "url": url}
