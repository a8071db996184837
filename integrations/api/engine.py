"""Everything the JSON API uses from the transfer engine, in one place: the
engine's public services and reads, imported here only, so the API follows
the engine wherever its modules move."""

from transfers.errors import TransferRefused
from transfers.jobs import Submission, revert_submit, transfer_job_state, transfer_submit
from transfers.models import Transfer, TransferJob
from transfers.presenters import receipt_csv_lines
from transfers.selectors import DistributionMode, client_distribution, linked_client_ids
from transfers.services import (
    TransferResult,
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)

__all__ = [
    "DistributionMode",
    "Submission",
    "Transfer",
    "TransferJob",
    "TransferRefused",
    "TransferResult",
    "client_distribution",
    "linked_client_ids",
    "receipt_csv_lines",
    "records_transfer_all",
    "records_transfer_per_client",
    "revert_submit",
    "transfer_job_state",
    "transfer_revert",
    "transfer_submit",
]
