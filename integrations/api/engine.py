"""Everything the JSON API uses from the transfer engine, in one place: the
engine's public services and reads, imported here only, so the API follows
the engine wherever its modules move."""

from transfers.background.state import transfer_job_state
from transfers.background.submit import Submission, revert_submit, transfer_submit
from transfers.engine.distribution import DistributionMode, client_distribution
from transfers.engine.holdings import linked_client_ids
from transfers.engine.result import TransferResult
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferJob
from transfers.receipts.receipt_csv import receipt_csv_lines

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
