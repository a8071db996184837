"""The transfer forms: User Transfer All and User Transfer (per client).

The views are thin: forms check the input, the engine moves the records (one
transaction per Save, now or in the background), every refusal it raises
(TransferRefused) is put back on the form, next to its field, with nothing
changed, and the presenters put the results into words and rows."""

from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from clients.models import Client, Deadline
from transfers.background import submit as job_submit
from transfers.engine.distribution import client_distribution
from transfers.engine.holdings import (
    linked_clients,
    user_holdings,
    user_holdings_and_shares_outside,
)
from transfers.engine.services import records_transfer_all, records_transfer_per_client
from transfers.errors import TransferRefused
from transfers.web.fields import new_request_key, user_choices
from transfers.web.forms import (
    PER_CLIENT_MAX_CLIENTS,
    PER_CLIENT_POST_LIMIT,
    TransferAllForm,
    TransferPerClientForm,
)
from transfers.web.presenters import per_client, row_filling, words
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import eligible_owners, with_workload
from users.views import SettingsPermissionMixin


class OldUserMixin(SettingsPermissionMixin):
    extra_permissions = (TRANSFER_RECORDS_PERMISSION,)

    def load_objects(self, **kwargs):
        self.old_user = get_object_or_404(User, pk=kwargs["user_pk"])

    def new_users(self) -> list[User]:
        """Users who may receive the records (one query, with their workload)."""
        if not hasattr(self, "_new_users"):
            self._new_users = list(
                with_workload(eligible_owners().exclude(pk=self.old_user.pk)).order_by(
                    "first_name", "last_name", "username", "pk"
                )
            )
        return self._new_users

    def save(self, form, service):
        """Save a valid form through `service`, now or in the background
        (job_submit.transfer_submit): a refusal goes on the form, success leads to
        the receipt or the job's progress page."""
        try:
            submitted = job_submit.transfer_submit(
                service=service,
                acting_user=self.request.user,
                old_user=self.old_user,
                request_key=form.cleaned_data["request_key"],
                run_at=form.scheduled_for(),
                suspend_sign_in=form.cleaned_data["suspend_sign_in"],
                **form.transfer_arguments(),
            )
        except TransferRefused as refusal:
            form.add_refusal(words.with_job_link(refusal))
            return self.render(form)
        messages.add_message(self.request, *words.save_message(submitted, self.old_user))
        return HttpResponseRedirect(submitted.get_absolute_url())


# Not cached (nor kept for Back): after a Save, Back asks again and the form says
# at once when there is nothing left to transfer.
@method_decorator(never_cache, name="dispatch")
class TransferAllView(OldUserMixin, View):
    """User Transfer All: everything the old user owns, and their shares, to one
    new user."""

    template_name = "transfers/transfer_all.html"

    def get(self, request, user_pk):
        return self.render(self.form(initial={"request_key": new_request_key()}))

    def post(self, request, user_pk):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render(form)
        return self.save(form, records_transfer_all)

    def form(self, *args, **kwargs) -> TransferAllForm:
        return TransferAllForm(
            *args,
            new_user_choices=user_choices(self.new_users()),
            shares=self.holdings().shares,
            **kwargs,
        )

    def holdings(self):
        if not hasattr(self, "_holdings"):
            self._holdings = user_holdings(user=self.old_user)
        return self._holdings

    def render(self, form):
        return render(
            self.request,
            self.template_name,
            {"old_user": self.old_user, "holdings": self.holdings(), "form": form},
        )


@method_decorator(never_cache, name="dispatch")
class TransferPerClientView(OldUserMixin, View):
    """User Transfer: a new user for each client linked to the old user.

    Besides Save, the form's buttons fill or show the form and transfer
    nothing: Filter, "Assign to every client", "Assign selected to",
    Distribute and Preview. With JavaScript in the page the first three work
    in the browser and the last two fetch the same answer without reloading."""

    template_name = "transfers/transfer_per_client.html"
    post_field_limit = PER_CLIENT_POST_LIMIT  # read by casengine.middleware

    def get(self, request, user_pk):
        form = self.form(initial={"request_key": new_request_key()})
        return self.render(form, request_key=form.initial["request_key"])

    def post(self, request, user_pk):
        form = self.form(request.POST)
        if form.fills_rows() and form.action == "distribute":
            return self.distribute(form)
        if form.fills_rows():
            return self.assign(form)
        if not form.is_valid() or form.action == "filter":
            return self.render(form)
        if form.action == "preview":
            return self.preview(form)
        return self.save(form, records_transfer_per_client)

    def form(self, *args, **kwargs) -> TransferPerClientForm:
        return TransferPerClientForm(
            *args,
            old_user=self.old_user,
            listed_clients=self.listed_clients,
            eligible_users=self.new_users,
            shares_revoked=self.holdings()[1],
            **kwargs,
        )

    def listed_clients(self) -> list[Client]:
        """The rows: every linked client, or none when there are more than
        User Transfer handles (too_many)."""
        if not hasattr(self, "_listed_clients"):
            # Each row says when the old user's next open deadline under it is due.
            next_due = Deadline.objects.filter(
                client_id=OuterRef("pk"), owner_id=self.old_user.pk, status=Deadline.Status.OPEN
            ).order_by("due_date", "due_time")
            linked = linked_clients(user=self.old_user).annotate(
                next_due=Subquery(next_due.values("due_date")[:1])
            )
            clients = list(linked[: PER_CLIENT_MAX_CLIENTS + 1])
            self.too_many = len(clients) > PER_CLIENT_MAX_CLIENTS
            self._listed_clients = [] if self.too_many else clients
        return self._listed_clients

    def holdings(self):
        """What the old user holds, and how many of their shares are outside the
        linked clients (what a deactivating Save revokes), in one query."""
        if not hasattr(self, "_holdings"):
            self._holdings = user_holdings_and_shares_outside(user=self.old_user)
        return self._holdings

    def distribute(self, form):
        """Fill the rows nobody is assigned to yet (or, asked to, every row)
        with a proposal spreading the clients among the users chosen."""
        data = form.cleaned_data
        # In the order of the list on the page, whatever the order posted.
        chosen = [user for user in self.new_users() if user.pk in set(data["distribute_to"])]
        distribution = client_distribution(
            old_user=self.old_user,
            to_users=chosen,
            mode=data["distribute_mode"],
            kept={} if data["distribute_replace"] else data["assignments"],
        )
        fill, totals = per_client.distribution_fill(distribution, chosen)
        count = row_filling.fill_count(self.listed_clients(), fill, form.posted_assignment)
        status = row_filling.distribute_status(count, replace=data["distribute_replace"])
        return self.render(form, fill=fill, distribution=totals, fill_status=status)

    def assign(self, form):
        """Assign all to / Assign selected to, saying how many rows it replaced."""
        users = self.new_users()
        fill = per_client.assignment_fill(form, users)
        count = row_filling.fill_count(self.listed_clients(), fill, form.posted_assignment)
        data = form.cleaned_data
        user_id = data["assign_all_user" if form.action == "assign_all" else "assign_selected_user"]
        name = next((user.full_name for user in users if user.pk == user_id), "")
        status = row_filling.assign_status(count, user_name=name) if name else ""
        return self.render(form, fill=fill, fill_status=status)

    def preview(self, form):
        """What Save would move to each new user, from the engine's own dry run."""
        try:
            preview = records_transfer_per_client(
                acting_user=self.request.user,
                old_user=self.old_user,
                dry_run=True,
                **form.transfer_arguments(),
            )
        except TransferRefused as refusal:
            form.add_refusal(refusal)
            return self.render(form)
        return self.render(form, preview=preview)

    def render(
        self, form, *, fill=None, request_key=None, distribution=None, preview=None, fill_status=""
    ):
        clients = self.listed_clients()
        holdings = self.holdings()[0]
        return render(
            self.request,
            self.template_name,
            {
                "old_user": self.old_user,
                "holdings": holdings,
                # Linked through records under them only: "under 28 more".
                "linked_elsewhere": max(len(clients) - holdings["client"], 0),
                **per_client.per_client_form(
                    form, clients, self.new_users(), fill=fill, request_key=request_key
                ),
                "distribution": distribution,
                "fill_status": fill_status,
                "preview": preview,
                "too_many_clients": self.too_many,
            },
        )
