"""How the transfer screens name a transfer in their own words; a revert reads
as what it did ("Revert of #2: back to Sam Okafor from Grace Kim, Lena Ortiz"),
not as a transfer from the user the records returned to."""

from django import template

from transfers.models import Transfer

register = template.Library()


@register.filter
def reverted_from_names(transfer: Transfer) -> str:
    """For a revert: who the records came back from, the reverted transfer's
    new users (from its prefetched recipients when the page prefetched them)."""
    reverted = transfer.reverted_transfer
    if reverted is None:
        return ""
    return ", ".join(recipient.to_user_name for recipient in reverted.recipients.all())


@register.filter
def revert_headline(transfer: Transfer) -> str:
    """ "Revert of #2: back to Sam Okafor from Grace Kim, Lena Ortiz"."""
    if transfer.reverted_transfer_id is None:
        return ""
    text = f"Revert of #{transfer.reverted_transfer_id}: back to {transfer.from_user_name}"
    names = reverted_from_names(transfer)
    return f"{text} from {names}" if names else text
