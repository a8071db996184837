"""A memo: a fourth owned record type, under a client, with its two share
models and its registry entry. Nothing outside this folder knows it."""

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from clients.models import Client, OwnedRecord
from clients.record_types import RecordType, record_type_register


class Memo(OwnedRecord):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="memos")
    number = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_memos"
    )

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.title


class MemoUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Memo, on_delete=models.CASCADE)


class MemoGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Memo, on_delete=models.CASCADE)


MEMO = record_type_register(
    RecordType(
        name="memo",
        label="Memo",
        plural="memos",
        model=Memo,
        user_share_model=MemoUserObjectPermission,
        group_share_model=MemoGroupObjectPermission,
        client_field="client",
        label_field="title",
        url_name="memo_detail",
        list_url_name="memo_list",
        row_related=("owner", "client"),
    )
)
