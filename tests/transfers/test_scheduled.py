"""Scheduled transfers: *When: On a date and time* on User Transfer All and User
Transfer (and `transfer_user --at`) checks the Save at once, stores a job the
worker runs at that time (django-tasks' run_after), lists it in Transfer
History with *Cancel*, and checks it again under the locks when it runs: a
refusal then changes nothing, shows where the receipt would be, and e-mails
the administrator who scheduled it.

Transactional: the worker commits, as it does in production."""

import uuid
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clients.models import Case, Client, ClientUserObjectPermission, Matter
from tests.factories import ClientFactory, ClientShareFactory
from tests.helpers import default_groups_restore, snapshot
from tests.transfers.job_support import run_worker
from transfers.background.routers import PROGRESS_DATABASE
from transfers.background.state import users_with_scheduled_transfer
from transfers.models import Transfer, TransferJob
from users.models import AccountEvent, User
from users.services import user_set_active

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])

Status = TransferJob.Status


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""

    default_groups_restore()


def all_url(user):
    return reverse("transfers:transfer_all", args=[user.pk])


def per_client_url(user):
    return reverse("transfers:transfer_per_client", args=[user.pk])


def in_two_days():
    """A time two days ahead, as the form's datetime-local input sends it."""
    when = timezone.localtime() + timedelta(days=2)
    return when.replace(second=0, microsecond=0)


def form_time(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def schedule_transfer_all(http, leaver_firm, when, **extra):
    data = {
        "new_user": leaver_firm.dana.pk,
        "when": "at",
        "run_at": form_time(when),
        "request_key": str(uuid.uuid4()),
        **extra,
    }
    return http.post(all_url(leaver_firm.leaver), data)


def its_time_has_come(job: TransferJob) -> None:
    """Move the job's time, and its task's, to a moment ago."""
    past = timezone.now() - timedelta(seconds=1)
    TransferJob.objects.filter(pk=job.pk).update(run_at=past)
    DBTaskResult.objects.filter(id=job.task_id).update(run_after=past)


def moved_nothing(leaver_firm) -> bool:
    return not Transfer.objects.exists() and all(
        model.objects.filter(owner=leaver_firm.dana).count() == 0
        for model in (Client, Matter, Case)
    )


def test_a_scheduled_transfer_all_is_checked_stored_listed_and_run_at_its_time(
    admin_http, leaver_firm, administrator
):
    when = in_two_days()
    before = snapshot()

    response = schedule_transfer_all(admin_http, leaver_firm, when, deactivate_old_user="on")

    job = TransferJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert (job.status, job.run_at, job.actor) == (Status.SCHEDULED, when, administrator)
    assert job.arguments == {"new_user": leaver_firm.dana.pk, "deactivate_old_user": True}
    assert DBTaskResult.objects.get(id=job.task_id).run_after == when
    assert snapshot() == before
    assert users_with_scheduled_transfer() == {leaver_firm.leaver.pk}

    label = f"Scheduled for {when.strftime('%a %-d %b %Y, %H:%M')}"
    page = admin_http.get(job.get_absolute_url()).content.decode()
    assert "<h1>Transfer scheduled</h1>" in page and label in page
    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    assert label in history
    assert f'action="{reverse("transfers:transfer_job_cancel", args=[job.pk])}"' in history
    for form_url in (all_url(leaver_firm.leaver), per_client_url(leaver_firm.leaver)):
        form = unescape(admin_http.get(form_url).content.decode())
        assert f"Sam Leaver's records is scheduled for {job.run_at_text}" in form
        assert f'<a href="{job.get_absolute_url()}">see the scheduled transfer</a>' in form

    run_worker()  # before its time: nothing runs
    job.refresh_from_db()
    assert job.status == Status.SCHEDULED and snapshot() == before

    its_time_has_come(job)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3
    leaver_firm.leaver.refresh_from_db()
    assert not leaver_firm.leaver.is_active and job.transfer.deactivated_from_user
    assert users_with_scheduled_transfer() == set()


def test_a_scheduled_save_is_checked_at_once_every_refusal_shown_nothing_stored(
    admin_http, leaver_firm
):
    before = snapshot()
    same_user = schedule_transfer_all(
        admin_http, leaver_firm, in_two_days(), new_user=leaver_firm.leaver.pk
    )
    assert "The new user must be someone other than Sam Leaver." in same_user.content.decode()
    past = schedule_transfer_all(
        admin_http, leaver_firm, timezone.now() - timedelta(hours=1)
    ).content.decode()
    assert "Choose a date and time in the future." in past
    no_time = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.dana.pk, "when": "at", "run_at": ""},
    ).content.decode()
    assert "Choose the date and time to run it." in no_time
    assert not TransferJob.objects.exists() and snapshot() == before


def test_one_scheduled_transfer_per_old_user_and_no_transfer_now_meanwhile(
    admin_http, leaver_firm, settings
):
    schedule_transfer_all(admin_http, leaver_firm, in_two_days())
    job = TransferJob.objects.get()
    before = snapshot()

    second = schedule_transfer_all(admin_http, leaver_firm, in_two_days() + timedelta(hours=1))
    now = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.dana.pk, "when": "now", "request_key": str(uuid.uuid4())},
    )

    for response in (second, now):
        html = unescape(response.content.decode())
        assert f"A transfer of Sam Leaver's records is scheduled for {job.run_at_text}." in html
        assert f'<a href="{job.get_absolute_url()}">See the scheduled transfer</a>' in html
    assert TransferJob.objects.count() == 1 and snapshot() == before


def test_a_cancelled_scheduled_transfer_moves_nothing(admin_http, leaver_firm, administrator):
    schedule_transfer_all(admin_http, leaver_firm, in_two_days())
    job = TransferJob.objects.get()
    before = snapshot()
    admin_http.post(reverse("transfers:transfer_job_cancel", args=[job.pk]))
    its_time_has_come(job)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.cancelled_by == administrator
    assert snapshot() == before and moved_nothing(leaver_firm)
    assert users_with_scheduled_transfer() == set()


def test_refused_at_its_time_when_the_recipient_left_with_the_reason_and_an_email(
    admin_http, leaver_firm, administrator
):
    schedule_transfer_all(admin_http, leaver_firm, in_two_days())
    job = TransferJob.objects.get()
    user_set_active(user=leaver_firm.dana, is_active=False, acting_user=administrator)
    before = snapshot()
    mail.outbox.clear()

    its_time_has_come(job)
    run_worker()

    job.refresh_from_db()
    assert job.status == Status.REFUSED and job.refusal_code == "new_user_inactive"
    assert snapshot() == before and moved_nothing(leaver_firm)
    page = unescape(admin_http.get(job.get_absolute_url()).content.decode())
    assert "<h1>Transfer refused</h1>" in page and job.message in page
    assert "Dana Reyes" in job.message and "Nothing was changed." in page
    [email] = mail.outbox
    assert email.to == [administrator.email]
    assert "refused" in email.subject and "Sam Leaver" in email.subject
    assert job.message in email.body and job.get_absolute_url() in email.body


def test_a_scheduled_per_client_plan_is_stored_by_client_and_refused_if_a_client_was_linked(
    admin_http, leaver_firm, administrator
):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = {
        "client_ids": page.context["shown_client_ids"],
        "request_key": page.context["request_key"],
        "action": "save",
        "when": "at",
        "run_at": form_time(in_two_days()),
        f"client-{leaver_firm.acme.pk}": leaver_firm.dana.pk,
        f"client-{leaver_firm.bolt.pk}": leaver_firm.marcus.pk,
        f"client-{leaver_firm.crane.pk}": leaver_firm.dana.pk,
    }
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    job = TransferJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert job.arguments["assignments"] == {
        str(leaver_firm.acme.pk): leaver_firm.dana.pk,
        str(leaver_firm.bolt.pk): leaver_firm.marcus.pk,
        str(leaver_firm.crane.pk): leaver_firm.dana.pk,
    }
    ClientFactory(name="Delta plc", number="C-00009", owner=leaver_firm.leaver)  # linked since
    before = snapshot()

    its_time_has_come(job)
    run_worker()

    job.refresh_from_db()
    assert job.status == Status.REFUSED and job.refusal_code == "stale_form"
    assert snapshot() == before


def test_transfer_user_at_schedules_it(administrator, leaver_firm):
    when = in_two_days()
    args = [leaver_firm.leaver.username, "--to", leaver_firm.dana.username]
    args += ["--by", administrator.username, "--deactivate"]
    out = call_command_output("transfer_user", *args, "--at", when.strftime("%Y-%m-%d %H:%M"))
    job = TransferJob.objects.get()
    assert (job.status, job.run_at) == (Status.SCHEDULED, when)
    assert job.arguments["deactivate_old_user"] is True
    assert f"Scheduled transfer job #{job.pk} of sam.leaver's records for {job.run_at_text}" in out

    with pytest.raises(CommandError) as refused:
        call_command_output("transfer_user", *args, "--at", when.strftime("%Y-%m-%d %H:%M"))
    assert "Refused (transfer_scheduled)" in str(refused.value)
    with pytest.raises(CommandError, match="YYYY-MM-DD HH:MM"):
        call_command_output("transfer_user", *args, "--at", "12/12/2026 6pm")
    job.delete()
    with pytest.raises(CommandError, match="Choose a date and time in the future"):
        call_command_output("transfer_user", *args, "--at", "2020-01-01 09:00")
    assert not TransferJob.objects.exists()


def call_command_output(*args) -> str:
    import io

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- Suspend sign-in now -------------------------------------------------------------


def test_suspend_sign_in_now_with_a_scheduled_transfer_then_it_deactivates_the_leaver(
    admin_http, leaver_firm, administrator
):
    when = in_two_days()
    schedule_transfer_all(
        admin_http, leaver_firm, when, suspend_sign_in="on", deactivate_old_user="on"
    )
    job = TransferJob.objects.get()
    leaver = User.objects.get(pk=leaver_firm.leaver.pk)
    assert leaver.sign_in_suspended_at is not None and leaver.is_active
    event = AccountEvent.objects.get(user=leaver, kind=AccountEvent.Kind.SIGN_IN_SUSPENDED)
    assert event.actor == administrator
    assert f"Leaving: transfer scheduled for {job.run_at_text}" in event.detail
    assert Case.objects.filter(owner=leaver).count() == 3  # suspended, still the owner

    its_time_has_come(job)
    run_worker()

    job.refresh_from_db()
    leaver.refresh_from_db()
    assert job.status == Status.DONE and not leaver.is_active
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3


def test_a_suspension_that_would_be_refused_refuses_the_save_and_changes_nothing(
    admin_http, leaver_firm, administrator
):
    """An administrator transferring their own records cannot suspend themselves."""
    ClientFactory(name="Own Ltd", number="C-00010", owner=administrator)
    before = snapshot()
    response = admin_http.post(
        all_url(administrator),
        {
            "new_user": leaver_firm.dana.pk,
            "when": "at",
            "run_at": form_time(in_two_days()),
            "suspend_sign_in": "on",
            "request_key": str(uuid.uuid4()),
        },
    )
    assert "You cannot suspend your own sign-in." in response.content.decode()
    administrator.refresh_from_db()
    assert administrator.sign_in_suspended_at is None
    assert not TransferJob.objects.exists() and snapshot() == before


def test_a_refused_save_suspends_no_one(admin_http, leaver_firm):
    response = schedule_transfer_all(
        admin_http, leaver_firm, in_two_days(), new_user=leaver_firm.leaver.pk, suspend_sign_in="on"
    )
    assert "The new user must be someone other than Sam Leaver." in response.content.decode()
    assert User.objects.get(pk=leaver_firm.leaver.pk).sign_in_suspended_at is None
    assert not TransferJob.objects.exists()


def test_transfer_user_distribute_at_stores_the_plan_client_by_client(administrator, leaver_firm):
    when = in_two_days()
    call_command_output(
        "transfer_user",
        leaver_firm.leaver.username,
        "--distribute",
        f"{leaver_firm.dana.username},{leaver_firm.marcus.username}",
        "--by",
        administrator.username,
        "--at",
        when.strftime("%Y-%m-%d %H:%M"),
    )
    job = TransferJob.objects.get()
    assert (job.status, job.mode) == (Status.SCHEDULED, Transfer.Mode.PER_CLIENT)
    linked = {leaver_firm.acme.pk, leaver_firm.bolt.pk, leaver_firm.crane.pk}
    assert {int(pk) for pk in job.arguments["assignments"]} == linked
    assert set(job.arguments["expected_client_ids"]) == linked
    assert set(job.arguments["assignments"].values()) <= {
        leaver_firm.dana.pk,
        leaver_firm.marcus.pk,
    }
    its_time_has_come(job)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE
    assert not Case.objects.filter(owner=leaver_firm.leaver).exists()


def test_a_scheduled_deactivating_per_client_transfer_revokes_the_shares_left_when_it_runs(
    admin_http, leaver_firm
):
    """The worker runs the same engine: what is left outside the clients is
    revoked at the time it runs, a share granted meanwhile included."""
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = {
        "client_ids": page.context["shown_client_ids"],
        "request_key": page.context["request_key"],
        "action": "save",
        "when": "at",
        "run_at": form_time(in_two_days()),
        "deactivate_old_user": "on",
        **{f"client-{c.pk}": leaver_firm.dana.pk for c in (leaver_firm.acme, leaver_firm.bolt)},
        f"client-{leaver_firm.crane.pk}": leaver_firm.marcus.pk,
    }
    admin_http.post(per_client_url(leaver_firm.leaver), data)
    job = TransferJob.objects.get()
    elsewhere = ClientFactory(name="Elm Estates", number="C-00010", owner=leaver_firm.marcus)
    ClientShareFactory(content_object=elsewhere, user=leaver_firm.leaver)

    its_time_has_come(job)
    run_worker()

    job.refresh_from_db()
    assert job.status == Status.DONE
    assert job.transfer.revoked_share_count == 1
    revoked = job.transfer.records.get(share_revoked=True)
    assert (revoked.record_id, revoked.from_user_id, revoked.to_user_id) == (
        elsewhere.pk,
        leaver_firm.leaver.pk,
        None,
    )
    assert not ClientUserObjectPermission.objects.filter(user=leaver_firm.leaver).exists()
