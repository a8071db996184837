"""The state each account is in, as User Registration shows it: Active,
Sign-in suspended, Inactive, and the states other apps register (a transfer
scheduled for a leaver lives in the transfers app, which the users app does
not know).

A state is one row of the registry: its condition as a database filter and
its precedence (the first condition that holds, in that order, names the
state; none holding: Active). States marked `leaver` make up the Leavers
filter, with the users who still own records. Adding a state is one call of
`account_state_register` in the registering app's `ready()`, e.g.

    account_state_register(AccountState(
        value="scheduled", label="Transfer scheduled", precedence=10, leaver=True,
        condition=Q(Exists(ScheduledTransfer.objects.filter(old_user=OuterRef("pk")))),
    ))

(precedence 10: an inactive account shows Inactive, a suspended leaver whose
transfer is scheduled shows Transfer scheduled)."""

from dataclasses import dataclass

from django.db.models import Case, CharField, Q, QuerySet, Value, When

from users.models import User
from users.selectors import owning_anything

ACTIVE = "active"
ACTIVE_LABEL = "Active"


@dataclass(frozen=True)
class AccountState:
    value: str  # what the Status filter and the annotation carry: "suspended"
    label: str  # what the page shows: "Sign-in suspended"
    condition: Q
    precedence: int  # smaller first
    leaver: bool = False


_states: dict[str, AccountState] = {}


def account_state_register(state: AccountState) -> None:
    _states[state.value] = state


def account_states() -> list[AccountState]:
    """The registered states, in precedence order."""
    return sorted(_states.values(), key=lambda state: state.precedence)


def account_state_choices() -> list[tuple[str, str]]:
    """(value, label) of every state, Active first, for a filter."""
    return [(ACTIVE, ACTIVE_LABEL), *((state.value, state.label) for state in account_states())]


def account_state_label(value: str) -> str:
    return dict(account_state_choices()).get(value, ACTIVE_LABEL)


def with_account_state(users: QuerySet[User]) -> QuerySet[User]:
    """Annotate `account_state` (a state's value) on each user, in the database."""
    whens = [When(state.condition, then=Value(state.value)) for state in account_states()]
    if not whens:
        return users.annotate(account_state=Value(ACTIVE, output_field=CharField()))
    return users.annotate(
        account_state=Case(*whens, default=Value(ACTIVE), output_field=CharField())
    )


def in_account_state(users: QuerySet[User], value: str) -> QuerySet[User]:
    return with_account_state(users).filter(account_state=value)


def leavers(users: QuerySet[User] | None = None) -> QuerySet[User]:
    """Users in a leaver state (suspended, or with a transfer scheduled) who
    still own records, annotated with what they own (users.selectors.with_workload)."""
    users = User.objects.all() if users is None else users
    condition = Q(pk__in=[])
    for state in account_states():
        if state.leaver:
            condition |= state.condition
    return owning_anything(users.filter(condition).filter(is_active=True))


def leavers_count() -> int:
    return leavers().count()


INACTIVE = AccountState(
    value="inactive", label="Inactive", condition=Q(is_active=False), precedence=0
)
SIGN_IN_SUSPENDED = AccountState(
    value="suspended",
    label="Sign-in suspended",
    condition=Q(sign_in_suspended_at__isnull=False),
    precedence=20,
    leaver=True,
)
account_state_register(INACTIVE)
account_state_register(SIGN_IN_SUSPENDED)
