"""For any order of suspend, restore, schedule, cancel, transfer now, a
scheduled transfer's run, revert and deactivation, checked with Hypothesis:
no record is ever given to a suspended or inactive user, no inactive user ever
owns a record, each user has at most one scheduled, queued or running
transfer, and a refused step changes nothing.

Each example runs in its own transaction (hypothesis.extra.django.TestCase),
rolled back afterwards; a scheduled transfer is run by the worker's own task
function, as db_worker calls it at its time."""

from datetime import timedelta
from unittest import mock

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, ClientFactory, MatterFactory, UserFactory
from transfers.background import submit, worker
from transfers.engine import services
from transfers.engine.progress import ProgressHook
from transfers.models import Transfer, TransferJob, TransferRecipient
from users import groups
from users.models import User
from users.services import user_set_active, user_sign_in_restore, user_sign_in_suspend

USERS = 4
user = st.integers(min_value=0, max_value=USERS - 1)
step = st.one_of(
    st.tuples(st.just("schedule"), user, user, st.booleans()),
    st.tuples(st.just("now"), user, user, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("run"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("revert"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("deactivate"), user),
    st.tuples(st.just("suspend"), user),
    st.tuples(st.just("restore"), user),
)


class StoredProgressInTheTestTransaction(ProgressHook):
    """The worker's progress hook writes over a connection of its own, which
    cannot see this example's uncommitted rows: report to nobody instead."""

    def __init__(self, job_id: int) -> None:
        super().__init__()

    def start(self) -> None:
        pass

    def clear(self) -> None:
        pass


class ScheduleProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        attorneys = Group.objects.get(name=groups.ATTORNEYS)
        cls.admin = UserFactory(username="olivia.admin", is_superuser=True, is_staff=True)
        cls.users = [
            UserFactory(username=f"user{index}", groups=[attorneys]) for index in range(USERS)
        ]
        for owner in cls.users:
            client = ClientFactory(owner=owner)
            matter = MatterFactory(client=client, owner=owner)
            CaseFactory(matter=matter, owner=owner)

    def owners(self) -> dict:
        return {
            model.__name__: dict(model.objects.values_list("pk", "owner_id"))
            for model in (Client, Matter, Case)
        }

    def check_invariants(self) -> None:
        active = TransferJob.objects.filter(status__in=TransferJob.ACTIVE)
        from_users = list(active.values_list("from_user_id", flat=True))
        assert len(from_users) == len(set(from_users)), "two active transfers of one user"
        inactive = set(User.objects.filter(is_active=False).values_list("pk", flat=True))
        for model in (Client, Matter, Case):
            assert not model.objects.filter(owner_id__in=inactive).exists(), (
                f"an inactive user owns a {model.__name__}"
            )

    def apply(self, operation: tuple) -> None:
        kind, *args = operation
        jobs = list(TransferJob.objects.order_by("pk"))
        if kind in ("schedule", "now"):
            old, new, deactivate = (self.users[args[0]], self.users[args[1]], args[2])
            old.refresh_from_db()
            submit.transfer_submit(
                service=services.records_transfer_all,
                acting_user=self.admin,
                old_user=old,
                new_user=new,
                deactivate_old_user=deactivate,
                request_key=None,
                run_at=timezone.now() + timedelta(days=1) if kind == "schedule" else None,
            )
        elif kind == "cancel" and jobs:
            submit.transfer_job_cancel(acting_user=self.admin, job=jobs[args[0] % len(jobs)])
        elif kind == "run" and jobs:
            job = jobs[args[0] % len(jobs)]
            TransferJob.objects.filter(pk=job.pk, run_at__isnull=False).update(
                run_at=timezone.now() - timedelta(seconds=1)
            )
            with mock.patch.object(worker, "StoredProgress", StoredProgressInTheTestTransaction):
                worker.transfer_job_run.call(job.pk)
        elif kind == "revert":
            transfers = list(Transfer.objects.exclude(mode=Transfer.Mode.REVERT).order_by("pk"))
            if transfers:
                chosen = transfers[args[0] % len(transfers)]
                submit.revert_submit(acting_user=self.admin, transfer=chosen, request_key=None)
        elif kind == "deactivate":
            user_set_active(user=self.users[args[0]], is_active=False, acting_user=self.admin)
        elif kind == "suspend":
            target = User.objects.get(pk=self.users[args[0]].pk)
            user_sign_in_suspend(user=target, acting_user=self.admin)
        elif kind == "restore":
            target = User.objects.get(pk=self.users[args[0]].pk)
            user_sign_in_restore(user=target, acting_user=self.admin)

    def check_receivers(self, since: int) -> None:
        """Whoever a step gave records to could receive them: active, not suspended."""
        given = TransferRecipient.objects.filter(transfer_id__gt=since).exclude(
            transfer__mode=Transfer.Mode.REVERT
        )
        for recipient in given.select_related("to_user"):
            user = recipient.to_user
            assert user.is_active and user.sign_in_suspended_at is None, (
                f"records given to {user.username}, who may not receive them"
            )

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(step, min_size=1, max_size=8))
    def test_one_active_transfer_per_user_and_no_record_with_an_inactive_owner(self, steps):
        for operation in steps:
            before = self.owners()
            last_transfer = Transfer.objects.order_by("-pk").values_list("pk", flat=True).first()
            try:
                self.apply(operation)
            except ValidationError:  # refused (TransferRefused is one): nothing changed
                assert self.owners() == before, f"{operation} was refused but changed owners"
            self.check_invariants()
            self.check_receivers(last_transfer or 0)
