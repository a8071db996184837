"""Owner changes made in the admin before they were recorded as receipts:
read back from the admin's log ("Changed owner from Dana Reyes (#3) to Marcus
Hale (#5).", written by clients.admin since owner changes went through
record_owner_change), so that a record's history does not claim "Never
transferred" for them."""

import re

from django.db import migrations

OWNER_CHANGE = re.compile(
    r"^Changed owner from (?P<old_name>.+?) \(#(?P<old>\d+)\) to (?P<new_name>.+?) \(#(?P<new>\d+)\)\."
)
COUNT_FIELD = {"client": "client_count", "matter": "matter_count", "case": "case_count"}


def _name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name} {user.last_name}".strip() or user.username


def receipts_from_admin_log(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    Transfer = apps.get_model("transfers", "Transfer")
    TransferRecipient = apps.get_model("transfers", "TransferRecipient")
    TransferredRecord = apps.get_model("transfers", "TransferredRecord")
    User = apps.get_model("users", "User")
    entries = (
        LogEntry.objects.filter(
            content_type__app_label="clients",
            content_type__model__in=list(COUNT_FIELD),
            change_message__startswith="Changed owner from ",
        )
        .select_related("content_type", "user")
        .order_by("action_time", "pk")
    )
    for entry in entries.iterator():
        match = OWNER_CHANGE.match(entry.change_message)
        if match is None or not entry.object_id.isdigit():
            continue
        record_type = entry.content_type.model
        old = User.objects.filter(pk=int(match["old"])).first()
        new = User.objects.filter(pk=int(match["new"])).first()
        old_name = "" if match["old_name"] == "a deleted user" else match["old_name"]
        counts = {COUNT_FIELD[record_type]: 1}
        transfer = Transfer.objects.create(
            created_at=entry.action_time,
            mode="owner_change",
            actor=entry.user,
            actor_name=_name(entry.user),
            from_user=old,
            from_user_name=old_name,
            **counts,
        )
        TransferRecipient.objects.create(
            transfer=transfer, to_user=new, to_user_name=match["new_name"], **counts
        )
        TransferredRecord.objects.create(
            transfer=transfer,
            record_type=record_type,
            record_id=int(entry.object_id),
            from_user=old,
            to_user=new,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0005_owner_change_mode"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("users", "0003_account_events"),
    ]

    operations = [migrations.RunPython(receipts_from_admin_log, migrations.RunPython.noop)]
