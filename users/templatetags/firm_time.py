"""Timestamps in the firm's time zone (settings.TIME_ZONE), always with the
zone shown, so a receipt read in another office is not an hour off."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()

FORMAT = "j M Y, H:i T"
FORMAT_WITH_SECONDS = "j M Y, H:i:s T"


def firm_time_text(value: datetime | None, *, seconds: bool = False) -> str:
    """ "7 Dec 2026, 14:05 CET": `value` in the firm's time zone, zone shown."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value, timezone.get_default_timezone())
    return date_format(value, FORMAT_WITH_SECONDS if seconds else FORMAT)


@register.filter
def firm_time(value: datetime | None, precision: str = "") -> str:
    """A timestamp as text: {{ value|firm_time }} or {{ value|firm_time:"seconds" }}."""
    return firm_time_text(value, seconds=precision == "seconds")


@register.filter
def firm_time_tag(value: datetime | None, precision: str = "") -> str:
    """A timestamp as a <time> element: machine-readable instant, firm's zone shown."""
    if value is None:
        return ""
    return format_html(
        '<time datetime="{}">{}</time>',
        value.isoformat(),
        firm_time_text(value, seconds=precision == "seconds"),
    )
