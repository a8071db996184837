"""A receipt's counts become one value keyed by record type (JSON), so that
another owned record type needs no new column."""

from django.db import migrations, models

COLUMNS = {"client": "client_count", "matter": "matter_count", "case": "case_count"}


def counts_to_json(apps, schema_editor):
    for name in ("Transfer", "TransferRecipient"):
        model = apps.get_model("transfers", name)
        rows = model.objects.values_list("pk", *COLUMNS.values(), "share_count")
        batch = []
        for pk, *record_counts, shares in rows.iterator(chunk_size=2000):
            counts = dict(zip(COLUMNS, record_counts, strict=True), shares=shares)
            batch.append(model(pk=pk, counts=counts))
            if len(batch) == 2000:
                model.objects.bulk_update(batch, ["counts"])
                batch = []
        model.objects.bulk_update(batch, ["counts"])


def counts_to_columns(apps, schema_editor):
    for name in ("Transfer", "TransferRecipient"):
        model = apps.get_model("transfers", name)
        batch = []
        for row in model.objects.only("pk", "counts").iterator(chunk_size=2000):
            for record_type, field in COLUMNS.items():
                setattr(row, field, row.counts.get(record_type, 0))
            row.share_count = row.counts.get("shares", 0)
            batch.append(row)
        model.objects.bulk_update(batch, [*COLUMNS.values(), "share_count"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("transfers", "0009_receipt_rows_one_index_per_lookup")]

    operations = [
        migrations.AddField(
            model_name="transfer",
            name="counts",
            field=models.JSONField(
                default=dict,
                help_text="What moved per record type and the shares (clients.record_types.RecordCounts).",
            ),
        ),
        migrations.AddField(
            model_name="transferrecipient",
            name="counts",
            field=models.JSONField(
                default=dict, help_text="What they received per record type and the shares."
            ),
        ),
        migrations.RunPython(counts_to_json, counts_to_columns, elidable=False),
        *(
            migrations.RemoveField(model_name=model, name=field)
            for model in ("transfer", "transferrecipient", "transferprogress")
            for field in (*COLUMNS.values(), "share_count")
        ),
        # Progress rows live only while a job runs: nothing to carry over.
        migrations.AddField(
            model_name="transferprogress",
            name="counts",
            field=models.JSONField(default=dict, help_text="Moved so far (RecordCounts)."),
        ),
    ]
