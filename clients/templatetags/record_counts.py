from django import template

from clients.record_types import RecordCounts

register = template.Library()


@register.filter
def workload(row) -> RecordCounts:
    """The counts per record type annotated on a row (users.selectors.with_workload)."""
    return RecordCounts.annotated(row)


@register.filter
def owns_any(counts: RecordCounts) -> bool:
    """Whether the counts hold any record (shares aside)."""
    return counts.records > 0


@register.filter
def counts_text(counts: RecordCounts) -> str:
    """ "2 clients, 1 matter, 0 cases, 0 deadlines"."""
    return ", ".join(counts.phrases(shares=False))
