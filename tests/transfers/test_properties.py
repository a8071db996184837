"""Properties of transfers that must hold for any firm and any mapping,
checked with Hypothesis: nothing lost or duplicated, others' records
untouched, the old user left with nothing, receipts that say exactly what
changed, and a revert that restores the original ownership and shares.

Each example runs in its own transaction (hypothesis.extra.django.TestCase),
rolled back afterwards.
"""

from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from clients.models import (
    Case,
    CaseUserObjectPermission,
    Client,
    ClientUserObjectPermission,
    Matter,
    MatterUserObjectPermission,
)
from tests.helpers import permission
from transfers.engine.holdings import linked_client_ids
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.models import TransferredRecord
from users import groups
from users.models import User

USERS = 5  # user 0 is the old user
SHARES = {
    "client": (ClientUserObjectPermission, Client),
    "matter": (MatterUserObjectPermission, Matter),
    "case": (CaseUserObjectPermission, Case),
}

owner_index = st.integers(min_value=0, max_value=USERS - 1)
matter_plan = st.tuples(owner_index, st.lists(owner_index, max_size=3))  # owner, case owners
client_plan = st.tuples(owner_index, st.lists(matter_plan, max_size=3))  # owner, matters
share_plan = st.tuples(
    st.sampled_from(sorted(SHARES)),
    st.integers(min_value=0, max_value=50),  # which record (modulo how many there are)
    owner_index,  # who holds it
    st.sampled_from(["view", "change"]),
)
firm_plan = st.tuples(
    st.lists(client_plan, min_size=1, max_size=5), st.lists(share_plan, max_size=10)
)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TransferProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        attorneys = Group.objects.get(name=groups.ATTORNEYS)
        cls.users = []
        for i in range(USERS):
            user = User.objects.create(username=f"prop{i}", first_name="P", last_name=str(i))
            user.groups.add(attorneys)
            cls.users.append(user)
        cls.admin = User.objects.create(username="prop.admin", first_name="A", last_name="Dmin")
        cls.admin.groups.add(Group.objects.get(name=groups.ADMINISTRATORS))
        cls.permissions = {
            (kind, action): permission(f"{action}_{kind}")
            for kind in SHARES
            for action in ("view", "change")
        }

    # --- building and observing a firm -----------------------------------------

    def build(self, plan):
        clients_plan, shares_plan = plan
        ids = [user.pk for user in self.users]
        clients = Client.objects.bulk_create(
            Client(number=f"P-{i}", name=f"Client {i}", owner_id=ids[owner])
            for i, (owner, _) in enumerate(clients_plan)
        )
        matters = Matter.objects.bulk_create(
            Matter(client=client, number=f"PM-{i}-{j}", title="m", owner_id=ids[owner])
            for i, (client, (_, matter_plans)) in enumerate(zip(clients, clients_plan, strict=True))
            for j, (owner, _) in enumerate(matter_plans)
        )
        case_owners = [
            case_owner
            for _, matter_plans in clients_plan
            for _, cases in matter_plans
            for case_owner in cases
        ]
        matter_of_case = [
            matter
            for matter, (_, cases) in zip(
                matters, [m for _, matter_plans in clients_plan for m in matter_plans], strict=True
            )
            for _ in cases
        ]
        Case.objects.bulk_create(
            Case(
                matter=matter,
                client_id=matter.client_id,
                number=f"PK-{k}",
                caption="c",
                owner_id=ids[owner],
            )
            for k, (matter, owner) in enumerate(zip(matter_of_case, case_owners, strict=True))
        )
        records = {kind: list(model.objects.order_by("pk")) for kind, (_, model) in SHARES.items()}
        for kind, which, holder, action in shares_plan:
            if not records[kind]:
                continue
            share_model, _ = SHARES[kind]
            share_model.objects.get_or_create(
                content_object=records[kind][which % len(records[kind])],
                user_id=ids[holder],
                permission=self.permissions[(kind, action)],
            )

    def owners(self):
        return {
            kind: dict(model.objects.values_list("pk", "owner_id"))
            for kind, (_, model) in SHARES.items()
        }

    def shares(self):
        rows = set()
        for kind, (share_model, _) in SHARES.items():
            values = share_model.objects.values_list(
                "content_object_id", "permission_id", "user_id"
            )
            listed = list(values)
            assert len(listed) == len(set(listed)), "a share row is duplicated"
            rows |= {(kind, *row) for row in listed}
        return rows

    def client_of(self):
        return {
            "client": dict(Client.objects.values_list("pk", "pk")),
            "matter": dict(Matter.objects.values_list("pk", "client_id")),
            "case": dict(Case.objects.values_list("pk", "client_id")),
        }

    # --- the properties ----------------------------------------------------------

    def check(self, plan, target_of_client, transfer_call, per_client, deactivating):
        old = self.users[0]
        self.build(plan)
        before_owners, before_shares = self.owners(), self.shares()
        client_of = self.client_of()
        linked = linked_client_ids(user=old)
        if not linked and not any(holder == old.pk for *_, holder in before_shares):
            return  # nothing to transfer: refused, covered elsewhere
        if per_client and not linked:
            return

        transfer = transfer_call(old, linked)

        after_owners, after_shares = self.owners(), self.shares()
        expected_audit = set()
        for kind in SHARES:
            # Nothing lost, nothing duplicated.
            self.assertEqual(set(after_owners[kind]), set(before_owners[kind]))
            for pk, owner in before_owners[kind].items():
                if owner != old.pk:
                    self.assertEqual(after_owners[kind][pk], owner, "others' record touched")
                else:
                    target = target_of_client(client_of[kind][pk])
                    self.assertEqual(after_owners[kind][pk], target)
                    expected_audit.add((kind, pk, None, False, old.pk, target, False))
        # The old user owns nothing: every linked client was mapped.
        self.assertFalse(
            any(owner == old.pk for o in after_owners.values() for owner in o.values())
        )

        expected_shares, revoked_rows = set(before_shares), set()
        for kind, obj, permission_id, holder in before_shares:
            if holder != old.pk:
                continue
            target = target_of_client(client_of[kind][obj])
            if target is None and not deactivating:
                continue  # per client: outside the linked clients, it stays
            expected_shares.discard((kind, obj, permission_id, holder))
            if target is None:  # outside the linked clients: an inactive user keeps none
                revoked_rows.add((f"{kind}_share", obj, permission_id, False, old.pk, None, True))
                continue
            expected_shares.add((kind, obj, permission_id, target))
            merged = (kind, obj, permission_id, target) in before_shares
            expected_audit.add((f"{kind}_share", obj, permission_id, merged, old.pk, target, False))
        self.assertEqual(after_shares, expected_shares)

        audit = set()
        for row in TransferredRecord.objects.filter(transfer=transfer).values_list(
            "record_type",
            "record_id",
            "permission_id",
            "share_merged",
            "from_user_id",
            "to_user_id",
            "share_revoked",
        ):
            self.assertNotIn(row, audit, "a receipt row is duplicated")
            audit.add(row)
        self.assertEqual(audit, expected_audit | revoked_rows)
        self.assertEqual(transfer.record_count + transfer.record_counts.shares, len(expected_audit))
        self.assertEqual(transfer.revoked_share_count, len(revoked_rows))
        self.assertEqual(
            sum(r.record_counts.total for r in transfer.recipients.all()),
            len(expected_audit),
        )

        revert = transfer_revert(acting_user=self.admin, transfer=transfer).transfer
        self.assertEqual(self.owners(), before_owners)
        self.assertEqual(self.shares(), before_shares)
        self.assertEqual(revert.skipped_count, 0)
        old.refresh_from_db()
        self.assertTrue(old.is_active)

    @EXAMPLES
    @given(plan=firm_plan, new=st.integers(min_value=1, max_value=USERS - 1), off=st.booleans())
    def test_transfer_all(self, plan, new, off):
        new_user = self.users[new]

        def call(old, linked):
            return records_transfer_all(
                acting_user=self.admin, old_user=old, new_user=new_user, deactivate_old_user=off
            ).transfer

        self.check(plan, lambda client_id: new_user.pk, call, per_client=False, deactivating=off)

    @EXAMPLES
    @given(
        plan=firm_plan,
        choices=st.lists(st.integers(min_value=1, max_value=USERS - 1), min_size=5, max_size=5),
        off=st.booleans(),
    )
    def test_transfer_per_client(self, plan, choices, off):
        mapping = {}

        def call(old, linked):
            for i, client_id in enumerate(sorted(linked)):
                mapping[client_id] = self.users[choices[i % len(choices)]].pk
            return records_transfer_per_client(
                acting_user=self.admin,
                old_user=old,
                assignments=mapping,
                expected_client_ids=linked,
                deactivate_old_user=off,
            ).transfer

        self.check(
            plan, lambda client_id: mapping.get(client_id), call, per_client=True, deactivating=off
        )
