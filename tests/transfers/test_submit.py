"""Saving a transfer form (transfer_submit) at the service's door, without a worker: what
is done now, what is queued and how the job is stored. The worker's side is
test_jobs.py and test_scheduled.py."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from transfers.background.submit import transfer_submit
from transfers.engine.services import records_transfer_all, records_transfer_per_client
from transfers.models import Transfer, TransferJob

pytestmark = pytest.mark.django_db


def test_a_save_done_now_and_saved_again_is_the_same_transfer(mixed_firm, administrator):
    save = {
        "service": records_transfer_all,
        "acting_user": administrator,
        "old_user": mixed_firm.old,
        "new_user": mixed_firm.new,
        "request_key": "form-1",
    }
    first = transfer_submit(**save)
    again = transfer_submit(**save)

    assert (first.transfer, first.job, first.replayed) == (Transfer.objects.get(), None, False)
    assert (again.transfer, again.job, again.replayed) == (first.transfer, None, True)


def test_a_queued_save_stores_the_screens_choices_as_ids(mixed_firm, administrator, settings):
    settings.TRANSFER_BACKGROUND_THRESHOLD = 0
    submission = transfer_submit(
        service=records_transfer_per_client,
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
        request_key="form-2",
    )

    job = TransferJob.objects.get()
    assert (submission.job, submission.transfer, submission.replayed) == (job, None, False)
    assert job.arguments["assignments"] == {
        str(mixed_firm.own_client.pk): mixed_firm.new.pk,
        str(mixed_firm.others_client.pk): mixed_firm.other.pk,
    }
    assert job.actor == administrator
    assert DBTaskResult.objects.ready().filter(id=job.task_id).exists()  # at once
    assert not Transfer.objects.exists()


def test_a_scheduled_save_is_a_task_for_its_time(mixed_firm, administrator):
    when = timezone.now() + timedelta(days=2)
    submission = transfer_submit(
        service=records_transfer_all,
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        run_at=when,
        request_key="form-3",
    )

    job = submission.job
    assert (job.status, job.run_at) == (TransferJob.Status.SCHEDULED, when)
    assert job.arguments["new_user"] == mixed_firm.new.pk
    assert DBTaskResult.objects.get(id=job.task_id).run_after == when
    assert not DBTaskResult.objects.ready().filter(id=job.task_id).exists()
