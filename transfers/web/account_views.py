"""The user page (linked from User Registration): the user's details, what
they own and their account history. In the transfers app because the history
includes receipts; users and clients know nothing of transfers."""

from django.contrib.auth.models import Group
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from transfers.engine.holdings import user_holdings
from transfers.receipts.account_history import user_account_history
from users.models import User
from users.views import SettingsPermissionMixin

RECEIPT_PERMISSION = "transfers.view_transfer"


class UserPageView(SettingsPermissionMixin, TemplateView):
    template_name = "users/user_page.html"

    def load_objects(self, **kwargs):
        self.person = get_object_or_404(
            User.objects.prefetch_related(
                Prefetch("groups", queryset=Group.objects.order_by("name"))
            ),
            pk=kwargs["user_pk"],
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            person=self.person,
            holdings=user_holdings(user=self.person),
            history=user_account_history(user=self.person),
            can_open_receipts=self.request.user.has_perm(RECEIPT_PERMISSION),
            **kwargs,
        )
