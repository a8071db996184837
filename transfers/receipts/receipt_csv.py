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


class Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value):
        return value


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas.
    return "'" + text if text.startswith(FORMULA_START) else text


def receipt_csv_lines(transfer: Transfer) -> Iterator[str]:
    """Every row of a receipt as CSV lines, read in chunks: memory stays flat
    whatever the size. A deleted user is named as the receipt names them."""
    names = dict(transfer.recipients.values_list("to_user_id", "to_user_name"))
    if transfer.from_user_id is not None:
        names[transfer.from_user_id] = transfer.from_user_name
    return _csv_lines(transfer, names)


def _csv_lines(transfer: Transfer, names: dict[int, str]) -> Iterator[str]:
    def user_name(user, user_id) -> str:
        return user.full_name if user is not None else names.get(user_id, "")

    writer = csv.writer(Echo())
    yield CSV_BYTE_ORDER_MARK + writer.writerow(CSV_HEADER)
    rows = transfer_records(transfer=transfer)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                transfer.pk,
                row.record_type,
                row.record_id,
                csv_cell(row.record_number),
                csv_cell(row.record_label),
                row.permission.codename if row.permission_id else "",
                csv_cell(user_name(row.from_user, row.from_user_id)),
                csv_cell(user_name(row.to_user, row.to_user_id)),
                "yes" if row.share_merged else "",
                "yes" if row.share_revoked else "",
            ]
        )
