"""The engine's entry points: each builds a plan and runs it through
transfers.engine.executor.plan_execute (one durable transaction; see there
for `request_key`, `dry_run`, `validate_only` and `progress`)."""

from collections.abc import Collection, Mapping, Sequence

from transfers.engine.checks import permission_check, user_id_of
from transfers.engine.distribution import DistributionMode, client_distribution
from transfers.engine.executor import plan_execute
from transfers.engine.plans import RevertPlan, TransferPlan
from transfers.engine.progress import ProgressHook
from transfers.engine.result import TransferResult, Verdict
from transfers.errors import FIELD_ASSIGNMENTS, FIELD_NEW_USER, TransferRefused
from transfers.models import Transfer
from users.models import User


def records_transfer_all(
    *,
    acting_user: User,
    old_user: User | int,
    new_user: User | int | str,
    deactivate_old_user: bool = False,
    request_key: str | None = None,
    dry_run: bool = False,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | Verdict:
    """Transfer every record `old_user` owns, and their explicit shares, to
    `new_user` ("User Transfer All")."""
    permission_check(acting_user)
    plan = TransferPlan(
        acting_user=acting_user,
        mode=Transfer.Mode.ALL,
        old_user_id=user_id_of(old_user, code="old_user_unknown", field=None),
        new_user_id=user_id_of(new_user, code="new_user_unknown", field=FIELD_NEW_USER),
        deactivate_old_user=deactivate_old_user,
        request_key=request_key,
    )
    return plan_execute(plan, dry_run=dry_run, validate_only=validate_only, progress=progress)


def _per_client_plan(
    *,
    acting_user: User,
    old_user: User | int,
    assignments: Mapping[int, User | int],
    deactivate_old_user: bool,
    expected_client_ids: Collection[int] | None,
    request_key: str | None,
) -> TransferPlan:
    """The plan of a per-client transfer; refused at once when an id is not one."""
    try:
        plan = {int(client_id): target for client_id, target in assignments.items()}
    except (TypeError, ValueError):
        raise TransferRefused(
            "client_not_linked",
            "The assignments name a client that does not exist.",
            field=FIELD_ASSIGNMENTS,
        ) from None
    new_ids = {
        client_id: user_id_of(
            target, code="new_user_unknown", field=FIELD_ASSIGNMENTS, client_id=client_id
        )
        for client_id, target in plan.items()
    }
    return TransferPlan(
        acting_user=acting_user,
        mode=Transfer.Mode.PER_CLIENT,
        old_user_id=user_id_of(old_user, code="old_user_unknown", field=None),
        client_assignments=new_ids,
        expected_client_ids=(
            None
            if expected_client_ids is None
            else frozenset(int(pk) for pk in expected_client_ids)
        ),
        deactivate_old_user=deactivate_old_user,
        request_key=request_key,
    )


def records_transfer_per_client(
    *,
    acting_user: User,
    old_user: User | int,
    assignments: Mapping[int, User | int],
    deactivate_old_user: bool = False,
    expected_client_ids: Collection[int] | None = None,
    request_key: str | None = None,
    dry_run: bool = False,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | Verdict:
    """Transfer, client by client, what `old_user` holds to the client's new
    user ("User Transfer"): the client if they own it, their records under it,
    and their shares within it. `assignments` maps every linked client id to
    its new user; `expected_client_ids` is the list of linked clients the
    caller showed (stale_form when it changed since)."""
    permission_check(acting_user)
    plan = _per_client_plan(
        acting_user=acting_user,
        old_user=old_user,
        assignments=assignments,
        deactivate_old_user=deactivate_old_user,
        expected_client_ids=expected_client_ids,
        request_key=request_key,
    )
    return plan_execute(plan, dry_run=dry_run, validate_only=validate_only, progress=progress)


def records_transfer_distributed(
    *,
    acting_user: User,
    old_user: User | int,
    to_users: Sequence[User | int],
    mode: str = DistributionMode.WORKLOAD,
    deactivate_old_user: bool = False,
    request_key: str | None = None,
    dry_run: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | Verdict:
    """Distribute every client linked to `old_user`, each whole, over `to_users`
    (transfers.engine.distribution), then transfer them as User Transfer does."""
    permission_check(acting_user)
    distribution = client_distribution(old_user=old_user, to_users=to_users, mode=mode)
    plan = _per_client_plan(
        acting_user=acting_user,
        old_user=old_user,
        assignments=distribution.assignments,
        deactivate_old_user=deactivate_old_user,
        expected_client_ids=distribution.assignments.keys(),
        request_key=request_key,
    )
    return plan_execute(plan, dry_run=dry_run, progress=progress)


def transfer_revert(
    *,
    acting_user: User,
    transfer: Transfer | int,
    request_key: str | None = None,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | Verdict:
    """Revert `transfer`: every record still owned by the user it went to goes
    back, the others (changed since) are left alone and counted in
    `skipped_count` (listed by receipts.selectors.revert_skipped_records),
    shares go back likewise, and the old user is reactivated if `transfer`
    deactivated them. Recorded as a Transfer of mode REVERT."""
    permission_check(acting_user)
    transfer_id = transfer.pk if isinstance(transfer, Transfer) else int(transfer)
    plan = RevertPlan(acting_user=acting_user, transfer_id=transfer_id, request_key=request_key)
    return plan_execute(plan, validate_only=validate_only, progress=progress)
