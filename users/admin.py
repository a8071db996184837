"""The Django admin for users and groups, on the rules of users.services.

- is_active changes only through user_set_active (the change form and the
  Activate / Deactivate actions): refused, with the same message and code as
  everywhere, for one's own account, the last active superuser and a user who
  owns records (with a link to User Transfer All for them).
- Groups, direct permissions and the staff and superuser flags change only
  through user_access_update: taking the permission to own records from a
  user who owns records is refused.
- A suspension changes only through user_sign_in_suspend and
  user_sign_in_restore (the Suspend sign-in / Restore sign-in actions); its
  fields are read-only on the change form.
- Each change is written to the account's history; deleting a user who owns
  records is refused.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join

from users.admin_refusals import ChangeRefused, RefusalShownAdmin
from users.models import AccountEvent, User
from users.refusals import refusal_html, with_transfer_link
from users.selectors import (
    access_would_allow_owning,
    eligible_owners,
    group_change_loses_owners,
    owning_anything,
    user_may_own_records,
    user_owns_anything,
)
from users.services import (
    DELETION_ERRORS,
    GROUP_ERRORS,
    account_event_record,
    deactivation_refusal,
    group_delete,
    group_permissions_update,
    ownership_permission_refusal,
    user_access_update,
    user_delete_record,
    user_set_active,
    user_sign_in_restore,
    user_sign_in_suspend,
)

DELETE_REFUSED = "{name} owns clients, matters or cases and cannot be deleted. Transfer them first."
GROUP_REFUSED = GROUP_ERRORS["group_owner_permission_removed"]
# Saved by the change form itself; access fields and is_active go through the services.
DETAIL_FIELDS = ["username", "first_name", "last_name", "email", "last_login", "date_joined"]


class AccountChangeForm(UserChangeForm):
    """Checks the rules of users.services up front, so a refusal is shown next
    to its field; the services check again under the lock when saving."""

    acting_user: User | None = None

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is None:
            return cleaned_data
        stored = User.objects.get(pk=self.instance.pk)
        if "is_active" in cleaned_data and stored.is_active and not cleaned_data["is_active"]:
            refusal = deactivation_refusal(user=stored, acting_user=self.acting_user)
            if refusal is not None:
                self.add_error("is_active", with_transfer_link(refusal, stored))
        access_fields = {"groups", "user_permissions"}
        if access_fields <= set(cleaned_data) and user_may_own_records(stored):
            allowed = access_would_allow_owning(
                groups=cleaned_data["groups"],
                permissions=cleaned_data["user_permissions"],
            )
            if not allowed and user_owns_anything(stored):
                self.add_error(
                    "groups", with_transfer_link(ownership_permission_refusal(user=stored), stored)
                )
        return cleaned_data


class SignInSuspendedFilter(admin.SimpleListFilter):
    title = "sign-in suspended"
    parameter_name = "sign_in_suspended"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sign_in_suspended_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(sign_in_suspended_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(RefusalShownAdmin, DjangoUserAdmin):
    form = AccountChangeForm
    list_display = [
        "username",
        "full_name",
        "email",
        "is_active",
        "sign_in_suspended",
        "is_staff",
        "last_login",
    ]
    list_filter = ["is_active", SignInSuspendedFilter, "is_staff", "is_superuser", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["first_name", "last_name", "username"]
    actions = ["deactivate_selected", "activate_selected", "suspend_selected", "restore_selected"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Sign-in suspension", {"fields": ["sign_in_suspended_at", "sign_in_suspension_reason"]}),
    ]
    readonly_fields = ["sign_in_suspended_at", "sign_in_suspension_reason"]

    @admin.display(description="Sign-in suspended", boolean=True, ordering="sign_in_suspended_at")
    def sign_in_suspended(self, obj):
        return obj.sign_in_suspended_at is not None

    @admin.display(description="Full name", ordering="first_name")
    def full_name(self, obj):
        return obj.full_name

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if issubclass(form, AccountChangeForm):
            form = type(form.__name__, (form,), {"acting_user": request.user})
        return form

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The owner autocomplete of clients, matters and cases offers only users who may own.
        if (
            request.resolver_match is not None
            and request.resolver_match.url_name == "autocomplete"
            and request.GET.get("app_label") == "clients"
            and request.GET.get("field_name") == "owner"
        ):
            queryset = queryset.filter(pk__in=eligible_owners().values("pk"))
        return queryset, may_have_duplicates

    # Saving: details here, access and is_active through the services ----------

    def save_model(self, request, obj, form, change):
        if not change:
            # A new account is active from the start; recorded as created.
            super().save_model(request, obj, form, change)
            account_event_record(user=obj, kind=AccountEvent.Kind.CREATED, acting_user=request.user)
            return
        data = form.cleaned_data
        try:
            user_access_update(
                user=obj,
                acting_user=request.user,
                groups=data.get("groups"),
                user_permissions=data.get("user_permissions"),
                is_staff=data.get("is_staff"),
                is_superuser=data.get("is_superuser"),
            )
            if "is_active" in data:
                user_set_active(user=obj, is_active=data["is_active"], acting_user=request.user)
        except ValidationError as error:
            stored = User.objects.get(pk=obj.pk)  # the form's new name is not saved
            raise ChangeRefused(
                format_html_join(
                    " ",
                    "{}",
                    (
                        (refusal_html(message, item.code, stored),)
                        for item in error.error_list
                        for message in item.messages
                    ),
                )
            ) from error
        # The details last, so the services above read (and name) the stored account.
        obj.save(update_fields=[name for name in DETAIL_FIELDS if name in data])

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # Groups and permissions were saved by user_access_update in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # List actions ------------------------------------------------------------

    def _set_active(self, request, queryset, is_active: bool):
        changed = 0
        for user in queryset.order_by("pk"):
            if user.is_active == is_active:
                continue
            try:
                user_set_active(user=user, is_active=is_active, acting_user=request.user)
            except ValidationError as error:
                self.message_user(
                    request, refusal_html(error.messages[0], error.code, user), messages.ERROR
                )
            else:
                changed += 1
        if changed:
            verb = "activated" if is_active else "deactivated"
            noun = "user" if changed == 1 else "users"
            self.message_user(request, f"{changed} {noun} {verb}.", messages.SUCCESS)

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate selected users", permissions=["change"])
    def activate_selected(self, request, queryset):
        self._set_active(request, queryset, True)

    def _change_sign_in(self, request, queryset, *, suspend: bool):
        changed = 0
        for user in queryset.order_by("pk"):
            if (user.sign_in_suspended_at is not None) == suspend:
                continue  # already as asked
            try:
                if suspend:
                    user_sign_in_suspend(user=user, acting_user=request.user)
                else:
                    user_sign_in_restore(user=user, acting_user=request.user)
            except ValidationError as error:
                self.message_user(request, error.messages[0], messages.ERROR)
            else:
                changed += 1
        if changed:
            noun = "user" if changed == 1 else "users"
            verb = "suspended" if suspend else "restored"
            self.message_user(request, f"Sign-in {verb} for {changed} {noun}.", messages.SUCCESS)

    @admin.action(description="Suspend sign-in of selected users", permissions=["change"])
    def suspend_selected(self, request, queryset):
        self._change_sign_in(request, queryset, suspend=True)

    @admin.action(description="Restore sign-in of selected users", permissions=["change"])
    def restore_selected(self, request, queryset):
        self._change_sign_in(request, queryset, suspend=False)

    # Deletion ------------------------------------------------------------------

    def _delete_refusal(self, request, user) -> str | None:
        """Deleting ends the account like a deactivation, with the same rules."""
        if user_owns_anything(user):
            return DELETE_REFUSED.format(name=user.full_name)
        refusal = deactivation_refusal(user=user, acting_user=request.user)
        if refusal is not None:
            return DELETION_ERRORS[refusal.code].format(name=user.full_name)
        return None

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None and (refusal := self._delete_refusal(request, user)):
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:users_user_change", args=[user.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        with transaction.atomic():
            user_delete_record(user=obj, acting_user=request.user)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        owners = list(owning_anything(queryset))
        if owners:
            for user in owners:
                self.message_user(
                    request, DELETE_REFUSED.format(name=user.full_name), messages.ERROR
                )
            queryset = queryset.exclude(pk__in=[user.pk for user in owners])
        refused = []
        for user in queryset.filter(Q(pk=request.user.pk) | Q(is_superuser=True, is_active=True)):
            if refusal := self._delete_refusal(request, user):
                self.message_user(request, refusal, messages.ERROR)
                refused.append(user.pk)
        queryset = queryset.exclude(pk__in=refused)
        with transaction.atomic():
            for user in queryset.order_by("pk"):
                user_delete_record(user=user, acting_user=request.user)
            super().delete_queryset(request, queryset)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(RefusalShownAdmin, DjangoGroupAdmin):
    """Permissions and deletions through group_permissions_update and
    group_delete: refused when members who own records would lose the
    permission to own them, and written in every member's history."""

    def _refusal(self, group: Group, permissions) -> str | None:
        losing = group_change_loses_owners(group=group, permissions=permissions)
        if not losing:
            return None
        return GROUP_REFUSED.format(names=", ".join(user.full_name for user in losing))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        model_admin = self

        class GroupForm(form):
            def clean(self):
                cleaned_data = super().clean()
                if self.instance.pk is not None and "permissions" in cleaned_data:
                    refusal = model_admin._refusal(self.instance, cleaned_data["permissions"])
                    if refusal:
                        self.add_error("permissions", refusal)
                return cleaned_data

        return GroupForm

    def save_related(self, request, form, formsets, change):
        if not change:  # a new group has no members yet: nobody's access changes
            super().save_related(request, form, formsets, change)
            return
        try:
            group_permissions_update(
                group=form.instance,
                permissions=form.cleaned_data["permissions"],
                acting_user=request.user,
            )
        except ValidationError as error:
            raise ChangeRefused(" ".join(error.messages)) from error
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_view(self, request, object_id, extra_context=None):
        group = self.get_object(request, object_id)
        if group is not None and (refusal := self._refusal(group, permissions=())):
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:auth_group_change", args=[group.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        group_delete(group=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for group in queryset.order_by("pk"):
            try:
                group_delete(group=group, acting_user=request.user)
            except ValidationError as refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)


@admin.register(AccountEvent)
class AccountEventAdmin(admin.ModelAdmin):
    """The account history, read-only."""

    list_display = ["created_at", "user_name", "kind", "actor_name", "detail", "receipt_number"]
    list_filter = ["kind"]
    search_fields = ["user_name", "actor_name", "detail"]
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
