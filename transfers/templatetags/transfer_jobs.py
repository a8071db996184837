from django import template

from transfers.background.state import active_transfer_job

register = template.Library()


@register.simple_tag
def transfer_in_progress(user):
    """The scheduled, queued or running background transfer of `user`'s records, if any."""
    return active_transfer_job(user=user)
