"""The settings area: the Settings page and User Registration (grid, Add, Edit).

Views stay thin: forms validate, users.services write, users.selectors read."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.forms import Form
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import FormView, ListView, TemplateView

from users.account_states import account_state_label, leavers_count
from users.forms import SignInSuspendForm, UserCreateForm, UserSearchForm, UserUpdateForm
from users.models import ACCESS_SETTINGS_PERMISSION, User
from users.refusals import with_transfer_link
from users.selectors import with_workload, workload_summary
from users.services import (
    suspension_refusal,
    user_create,
    user_sign_in_restore,
    user_sign_in_suspend,
    user_update,
)


class SettingsPermissionMixin(PermissionRequiredMixin):
    """Every settings page needs users.view_user; some need more. Signed-in
    users without them get the 403 page (anonymous users are sent to sign in
    by LoginRequiredMiddleware before this runs).

    Permission first: a page about one object loads it in `load_objects`,
    after the check, so without the permission every id answers 403, known
    or not."""

    raise_exception = True
    extra_permissions: tuple[str, ...] = ()

    def get_permission_required(self):
        return (ACCESS_SETTINGS_PERMISSION, *self.extra_permissions)

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.load_objects(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load_objects(self, **kwargs) -> None:
        """Load what the page is about from the URL's arguments (404 when missing)."""


class SettingsView(SettingsPermissionMixin, TemplateView):
    template_name = "users/settings.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            leavers_count=leavers_count(),
            leavers_url=reverse("users:user_list") + f"?status={UserSearchForm.LEAVERS}",
            **kwargs,
        )


class UserListView(SettingsPermissionMixin, ListView):
    """User Registration: search, status filter and the paginated grid with
    each user's groups and workload (counted by the database)."""

    template_name = "users/user_list.html"
    context_object_name = "users"
    paginate_by = 50

    def get_queryset(self):
        self.search_form = UserSearchForm(self.request.GET or None)
        users = self.search_form.filter(User.objects.all())
        return users.prefetch_related(
            Prefetch("groups", queryset=Group.objects.order_by("name"))
        ).order_by("first_name", "last_name", "username", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for person in context["users"]:
            person.state_label = account_state_label(person.account_state)
            person.owns_summary = workload_summary(person)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            search_form=self.search_form,
            shows_leavers=self.search_form.shows_leavers,
            page_query=query.urlencode(),
        )
        return context


class UserCreateView(SettingsPermissionMixin, FormView):
    extra_permissions = ("users.add_user",)
    template_name = "users/user_form.html"
    form_class = UserCreateForm

    def form_valid(self, form):
        data = form.cleaned_data
        user = user_create(
            acting_user=self.request.user,
            username=data["username"],
            password=data["password1"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            groups=data["groups"],
        )
        messages.success(self.request, f"User {user.full_name} ({user.username}) was created.")
        return redirect(reverse("users:user_list") + f"?q={user.username}")

    def get_context_data(self, **kwargs):
        return super().get_context_data(heading="Add user", submit_label="Save", **kwargs)


class UserUpdateView(SettingsPermissionMixin, FormView):
    """Edit a user's details, groups and active state. A refused deactivation
    (own account, last superuser, still owns records) is shown next to the
    Active checkbox and nothing is saved."""

    extra_permissions = ("users.change_user",)
    template_name = "users/user_form.html"
    form_class = UserUpdateForm

    def load_objects(self, **kwargs):
        self.user = get_object_or_404(User, pk=kwargs["pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.user}

    def form_valid(self, form):
        data = form.cleaned_data
        was_active = self.user.is_active
        try:
            user = user_update(
                user=User.objects.get(pk=self.user.pk),
                acting_user=self.request.user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                groups=data["groups"],
                is_active=data["is_active"],
            )
        except ValidationError as error:
            form.add_error(None, with_transfer_link(error, self.user))
            return self.form_invalid(form)
        message = f"User {user.full_name} was saved."
        if was_active and not user.is_active:
            message = f"User {user.full_name} was saved and deactivated."
        elif not was_active and user.is_active:
            message = f"User {user.full_name} was saved and activated."
        messages.success(self.request, message)
        return redirect("users:user_list")

    def get_context_data(self, **kwargs):
        stored = User.objects.get(pk=self.user.pk)
        return super().get_context_data(
            heading=f"Edit {stored.full_name}",
            submit_label="Save",
            edited_user=stored,
            **kwargs,
        )


class _SignInChangeView(SettingsPermissionMixin, FormView):
    """A confirmation page (GET) and its POST, for one user's sign-in."""

    extra_permissions = ("users.change_user",)

    def load_objects(self, **kwargs):
        self.person = get_object_or_404(with_workload(User.objects.all()), pk=kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(person=self.person, **kwargs)

    def done(self, message: str):
        messages.success(self.request, message)
        return redirect(reverse("users:user_list") + f"?q={self.person.username}")


class UserSignInSuspendView(_SignInChangeView):
    """Suspend sign-in: the leaver's access ends now, whatever they own. A
    refusal known in advance (own account, last superuser, already suspended,
    inactive) is shown on the page, and again if it arises on Save."""

    template_name = "users/user_sign_in_suspend.html"
    form_class = SignInSuspendForm

    def get_context_data(self, **kwargs):
        refusal = suspension_refusal(user=self.person, acting_user=self.request.user)
        return super().get_context_data(refusal=refusal, **kwargs)

    def form_valid(self, form):
        try:
            user_sign_in_suspend(
                user=self.person,
                acting_user=self.request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        return self.done(
            f"{self.person.full_name}'s sign-in was suspended. "
            "They keep what they own until it is transferred."
        )


class UserSignInRestoreView(_SignInChangeView):
    template_name = "users/user_sign_in_restore.html"
    form_class = Form

    def form_valid(self, form):
        try:
            user_sign_in_restore(user=self.person, acting_user=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        return self.done(f"{self.person.full_name}'s sign-in was restored.")
