"""A fourth owned record type, registered by this app alone, goes through the
engine, the receipts, the counts and the CSV like the built-in three."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission

from clients.record_types import RECORD_TYPES
from tests.factories import ClientFactory, OwnerFactory
from tests.fourth_record_type.models import MEMO, Memo, MemoUserObjectPermission
from transfers.engine.holdings import user_holdings
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.models import TransferredRecord
from users.models import User
from users.selectors import with_workload

pytestmark = pytest.mark.django_db


def memo_of(owner: User, *, number: str, title: str, client=None) -> Memo:
    client = client or ClientFactory(owner=owner)
    return Memo.objects.create(client=client, owner=owner, number=number, title=title)


def test_the_registry_lists_the_memo_after_the_built_in_types():
    assert [t.name for t in RECORD_TYPES][-1] == "memo"
    assert MEMO in RECORD_TYPES
    assert ("memo", "Memo") in TransferredRecord.RecordType.choices
    assert ("memo_share", "Memo share") in TransferredRecord.RecordType.choices


def test_transfer_all_moves_memos_and_their_shares_and_counts_them(administrator, admin_http):
    old, new, reader = OwnerFactory(), OwnerFactory(), OwnerFactory()
    memo = memo_of(old, number="MEMO-1", title="Board minutes")
    MemoUserObjectPermission.objects.create(
        user=old,
        content_object=memo_of(reader, number="MEMO-2", title="Shared note"),
        permission=Permission.objects.get(codename="view_memo"),
    )
    assert user_holdings(user=old)["memo"] == 1
    assert with_workload(User.objects.filter(pk=old.pk)).get().memo_count == 1

    result = records_transfer_all(acting_user=administrator, old_user=old, new_user=new)

    memo.refresh_from_db()
    assert memo.owner == new
    counts = result.transfer.record_counts
    assert (counts["memo"], counts["client"], counts.shares) == (1, 1, 1)
    assert result.recipients[0].record_counts["memo"] == 1
    assert MemoUserObjectPermission.objects.filter(user=new).count() == 1

    receipt = admin_http.get(result.transfer.get_absolute_url()).content.decode()
    assert ">Memos</th>" in receipt
    assert f'href="/memos/?transfer={result.transfer.pk}&amp;to={new.pk}"' in receipt
    assert "1 memo" in receipt

    lines = b"".join(admin_http.get(f"{result.transfer.get_absolute_url()}records.csv")).decode()
    rows = list(csv.reader(io.StringIO(lines.lstrip("\ufeff"))))
    memo_rows = [row for row in rows if row[1] == "memo"]
    assert [row[2:5] for row in memo_rows] == [[str(memo.pk), "MEMO-1", "Board minutes"]]
    assert [row[1] for row in rows].count("memo_share") == 1


def test_per_client_transfer_and_revert_move_the_memos_of_each_client(administrator):
    old, grace, lena = OwnerFactory(), OwnerFactory(), OwnerFactory()
    first = memo_of(old, number="MEMO-A", title="A")
    second = memo_of(old, number="MEMO-B", title="B")

    result = records_transfer_per_client(
        acting_user=administrator,
        old_user=old,
        assignments={first.client_id: grace, second.client_id: lena},
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.owner, second.owner) == (grace, lena)
    received = {r.to_user_id: r.record_counts["memo"] for r in result.recipients}
    assert received == {grace.pk: 1, lena.pk: 1}

    revert = transfer_revert(acting_user=administrator, transfer=result.transfer)
    assert revert.transfer.record_counts["memo"] == 2
    assert set(Memo.objects.values_list("owner_id", flat=True)) == {old.pk}
