"""For any order of suspend, restore, transfer (all or per client, with or
without deactivation), revert, deactivate and reactivate: no record is ever
given to a suspended or inactive user, and no inactive user owns a record.
Checked with Hypothesis; each example runs in its own rolled-back transaction."""

from contextlib import suppress

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from clients.models import Case, Client, Matter
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.models import Transfer, TransferredRecord
from users import groups
from users.models import User
from users.services import user_set_active, user_sign_in_restore, user_sign_in_suspend

USERS = 4
user_index = st.integers(min_value=0, max_value=USERS - 1)
operation = st.one_of(
    st.tuples(st.just("suspend"), user_index),
    st.tuples(st.just("restore"), user_index),
    st.tuples(st.just("deactivate"), user_index),
    st.tuples(st.just("reactivate"), user_index),
    st.tuples(st.just("transfer_all"), user_index, user_index, st.booleans()),
    st.tuples(st.just("transfer_per_client"), user_index, user_index, st.booleans()),
    st.tuples(st.just("revert"), st.integers(min_value=0, max_value=10)),
)


class SuspensionProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        attorneys = Group.objects.get(name=groups.ATTORNEYS)
        cls.admin = User.objects.create(username="prop.admin", first_name="A", last_name="Dmin")
        cls.admin.groups.add(Group.objects.get(name=groups.ADMINISTRATORS))
        cls.users = []
        for i in range(USERS):
            user = User.objects.create(username=f"prop{i}", first_name="P", last_name=str(i))
            user.groups.add(attorneys)
            cls.users.append(user)
            client = Client.objects.create(number=f"P-{i}", name=f"Client {i}", owner=user)
            matter = Matter.objects.create(client=client, number=f"PM-{i}", title="M", owner=user)
            Case.objects.create(
                matter=matter, client=client, number=f"PK-{i}", caption="K", owner=user
            )

    def apply(self, step):
        kind, *args = step
        users = {user.pk: User.objects.get(pk=user.pk) for user in self.users}
        user = users[self.users[args[0]].pk] if kind != "revert" else None
        if kind == "suspend":
            user_sign_in_suspend(user=user, acting_user=self.admin)
        elif kind == "restore":
            user_sign_in_restore(user=user, acting_user=self.admin)
        elif kind == "deactivate":
            user_set_active(user=user, is_active=False, acting_user=self.admin)
        elif kind == "reactivate":
            user_set_active(user=user, is_active=True, acting_user=self.admin)
        elif kind == "transfer_all":
            new, deactivate = users[self.users[args[1]].pk], args[2]
            records_transfer_all(
                acting_user=self.admin,
                old_user=user,
                new_user=new,
                deactivate_old_user=deactivate,
            )
        elif kind == "transfer_per_client":
            new, deactivate = users[self.users[args[1]].pk], args[2]
            linked = Client.objects.filter(owner=user).values_list("pk", flat=True)
            records_transfer_per_client(
                acting_user=self.admin,
                old_user=user,
                assignments={pk: new for pk in linked},
                deactivate_old_user=deactivate,
            )
        else:
            transfers = list(Transfer.objects.exclude(mode=Transfer.Mode.REVERT).order_by("pk"))
            if transfers:
                transfer_revert(
                    acting_user=self.admin, transfer=transfers[args[0] % len(transfers)]
                )

    def check(self, records_before: set[int]):
        owners = set()
        for model in (Client, Matter, Case):
            owners |= set(model.objects.values_list("owner_id", flat=True))
        inactive = set(User.objects.filter(is_active=False).values_list("pk", flat=True))
        assert not owners & inactive, "an inactive user owns a record"
        given_to = set(
            TransferredRecord.objects.exclude(pk__in=records_before).values_list(
                "to_user_id", flat=True
            )
        )
        refused = set(
            User.objects.filter(pk__in=given_to)
            .exclude(is_active=True, sign_in_suspended_at__isnull=True)
            .values_list("pk", flat=True)
        )
        assert not refused, "records were given to a suspended or inactive user"

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(steps=st.lists(operation, min_size=1, max_size=8))
    def test_no_record_goes_to_a_suspended_or_inactive_user(self, steps):
        for step in steps:
            records_before = set(TransferredRecord.objects.values_list("pk", flat=True))
            with suppress(ValidationError):  # a refusal changes nothing: checked all the same
                self.apply(step)
            self.check(records_before)
