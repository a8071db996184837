"""A receipt as CSV: every row, read in chunks so that memory stays flat
whatever the size, with every cell a spreadsheet could run as a formula
defused."""

import csv
from collections.abc import Iterator

from transfers.models import Transfer
from transfers.receipts.selectors import transfer_records

CSV_HEADER = [
    "transfer",
    "record_type",
    "record_id",
    "record_number",
    "record_name",
    "permission",
    "from_user",
    "to_user",
    "share_merged",
    "share_revoked",
]
# Excel on Windows reads a CSV without a byte-order mark in the local code page
# and shows "—" and accented names as mojibake; with it, as UTF-8.
CSV_BYTE_ORDER_MARK = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DELETED_USER = "Deleted user"


class Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value):
        return value


def csv_cell(text: str) -> str:
    """A text cell (a record deleted since has empty ones, not NULL): spreadsheets run
    cells starting with these as formulas."""
    return "'" + text if text.startswith(FORMULA_START) else text


def receipt_csv_lines(transfer: Transfer) -> Iterator[str]:
    """Every row of a receipt as CSV lines, read in chunks: memory stays flat
    whatever the size. A user deleted since is named by the receipt's own record
    of them where it tells who they were (the old user; a new user when only one
    of them was deleted), else "Deleted user", as the receipt page says."""
    if transfer.mode == Transfer.Mode.REVERT:  # back to the old user, from the receivers
        return _csv_lines(transfer, deleted_from=DELETED_USER, deleted_to=transfer.from_user_name)
    deleted_receivers = [
        name
        for user_id, name in transfer.recipients.values_list("to_user_id", "to_user_name")
        if user_id is None
    ]
    deleted_receiver = deleted_receivers[0] if len(deleted_receivers) == 1 else DELETED_USER
    return _csv_lines(transfer, deleted_from=transfer.from_user_name, deleted_to=deleted_receiver)


def _csv_lines(transfer: Transfer, *, deleted_from: str, deleted_to: str) -> Iterator[str]:
    reverted = transfer.mode == Transfer.Mode.REVERT

    def user_name(user, deleted_name: str, nobody: bool) -> str:
        if nobody:  # a revoked share went to nobody; given back, it came from nobody
            return ""
        return user.full_name if user is not None else deleted_name

    writer = csv.writer(Echo())
    yield CSV_BYTE_ORDER_MARK + writer.writerow(CSV_HEADER)
    rows = transfer_records(transfer=transfer)
    for row in rows.iterator(chunk_size=2000):  # pragma: no mutate (memory, not content)
        yield writer.writerow(
            [
                transfer.pk,
                row.record_type,
                row.record_id,
                csv_cell(row.record_number),
                csv_cell(row.record_label),
                row.permission.codename if row.permission_id else "",
                csv_cell(user_name(row.from_user, deleted_from, row.share_revoked and reverted)),
                csv_cell(user_name(row.to_user, deleted_to, row.share_revoked and not reverted)),
                "yes" if row.share_merged else "",
                "yes" if row.share_revoked else "",
            ]
        )
