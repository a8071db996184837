from django import template

from clients.record_types import RecordCounts

register = template.Library()


@register.filter
def workload(row) -> RecordCounts:
    """The counts per record type annotated on a row (users.selectors.with_workload)."""
    return RecordCounts.annotated(row)
