"""The Django admin for corrections to single clients, matters and cases.

- A new record is created through clients.services (client_create,
  matter_create, case_create: the owner's row locked, then validated), and an
  owner change goes through clients.services.record_owner_change (the same
  lock and validation, and an ownership event in the record's history); the
  admin's log entry names the old and the new owner.
- Guardian's object-permission pages (shares) open only for active users who
  may manage shares (the change permission on the record type's share models);
  guardian on its own lets anyone who may change a record edit its shares.
  No share is given to an inactive user (a deactivating transfer revokes every
  share it leaves): decided with the user's row locked, so a transfer that
  deactivates them either went first or waits and revokes the new share too.
- No facets and no full-table counts on the large tables.
"""

import json

from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.functional import cached_property
from guardian.admin import AdminUserObjectPermissionsForm, GuardedModelAdmin, UserManage

from clients.access import permission_name
from clients.models import Case, Client, Deadline, Matter
from clients.record_types import RECORD_TYPES, record_type_of
from clients.services import (
    case_create,
    client_create,
    deadline_create,
    matter_create,
    record_owner_change,
    record_update,
)
from users.admin_refusals import ChangeRefused, RefusalShownAdmin
from users.models import User


def _person(user: User | None, user_id) -> str:
    if user is None:
        return f"a deleted user (#{user_id})" if user_id else "nobody"
    return f"{user.full_name} (#{user.pk})"


class OwnerListFilter(admin.RelatedFieldListFilter):
    """Every user by name, inactive ones marked; one query on the user table
    (RelatedOnlyFieldListFilter would run SELECT DISTINCT owner over 2.5 million cases)."""

    def field_choices(self, field, request, model_admin):
        users = User.objects.only("pk", "username", "first_name", "last_name", "is_active")
        return [
            (user.pk, user.full_name if user.is_active else f"{user.full_name} (inactive)")
            for user in users.order_by("first_name", "last_name", "username", "pk")
        ]


class OwnedRecordAdminForm(forms.ModelForm):
    """Carries the owner the form was opened with, so saving a form opened
    before a transfer (or another administrator's change) cannot quietly put
    the old owner back: the owner field would look "changed" to the stale value."""

    owner_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)

    error_messages = {
        "owner_changed_since": (
            "The owner of this record changed to {name} after you opened this page "
            "(a transfer or another administrator). Reload the page and make your change again."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["owner_seen"].initial = self.instance.owner_id

    @cached_property
    def changed_data(self):
        # owner_seen is bookkeeping, not a change to save or to log.
        return [name for name in super().changed_data if name != "owner_seen"]

    def clean(self):
        cleaned_data = super().clean()
        seen = cleaned_data.get("owner_seen")
        submitted = cleaned_data.get("owner")
        if self.instance.pk is None or seen is None or submitted is None:
            return cleaned_data
        current = (
            type(self.instance)
            .objects.filter(pk=self.instance.pk)
            .values_list("owner_id", flat=True)
            .first()
        )
        if current is not None and current != seen and submitted.pk != current:
            current_owner = User.objects.filter(pk=current).first()
            self.add_error(
                "owner",
                ValidationError(
                    self.error_messages["owner_changed_since"].format(
                        name=_person(current_owner, current)
                    ),
                    code="owner_changed_since",
                ),
            )
        return cleaned_data


def _inactive_share_refusal(user: User) -> str:
    return f"{user.full_name} is inactive: shares are not given to inactive users."


class ShareUserChoiceForm(UserManage):
    """Guardian's "add a user" box, refusing an inactive user at once."""

    def clean_user(self):
        user = super().clean_user()
        if not user.is_active:
            raise ValidationError(_inactive_share_refusal(user))
        return user


class UserSharesForm(AdminUserObjectPermissionsForm):
    """One user's shares of a record: none is given to an inactive user."""

    def clean(self):
        cleaned_data = super().clean()
        added = set(cleaned_data.get(self.get_obj_perms_field_name()) or ())
        if not self.user.is_active and added - set(self.get_obj_perms_field_initial()):
            raise ValidationError(_inactive_share_refusal(self.user))
        return cleaned_data


class OwnedRecordAdmin(RefusalShownAdmin, GuardedModelAdmin):
    form = OwnedRecordAdminForm
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]
    list_per_page = 50
    show_facets = admin.ShowFacets.NEVER
    # The unfiltered total would be a second COUNT(*) over the whole table per page.
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]
    change_form_template = "clients/admin/change_form.html"

    # Shares -------------------------------------------------------------

    def may_manage_shares(self, request, action: str = "change") -> bool:
        """May this admin user see (action="view") or edit the record type's shares?"""
        record_type = record_type_of(self.model)
        user = request.user
        return user.is_active and (
            user.is_superuser
            or (
                user.has_perm(permission_name(record_type.user_share_model, action))
                and user.has_perm(permission_name(record_type.group_share_model, action))
            )
        )

    def obj_perms_manage_view(self, request, object_pk):
        if not self.may_manage_shares(request, "view"):
            raise PermissionDenied
        return super().obj_perms_manage_view(request, object_pk)

    def _may_change_share(self, request, share_model) -> bool:
        user = request.user
        return user.is_active and (
            user.is_superuser or user.has_perm(permission_name(share_model, "change"))
        )

    def get_obj_perms_user_select_form(self, request):
        return ShareUserChoiceForm

    def get_obj_perms_manage_user_form(self, request):
        return UserSharesForm

    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        if not self._may_change_share(request, record_type_of(self.model).user_share_model):
            raise PermissionDenied
        if request.method != "POST":
            return super().obj_perms_manage_user_view(request, object_pk, user_id)
        # The user's row stays locked from the form's check to the shares' save.
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=user_id).first()
            return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        if not self._may_change_share(request, record_type_of(self.model).group_share_model):
            raise PermissionDenied
        return super().obj_perms_manage_group_view(request, object_pk, group_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_manage_shares": self.may_manage_shares(request, "view"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # Owner changes -------------------------------------------------------

    def save_form(self, request, form, change):
        """A new record is created here, through its create service (the owner's
        row locked, then validated), and the admin goes on with the record it
        returns (log entry, redirect); a change is saved by save_model."""
        if change:
            return super().save_form(request, form, change)
        fields = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in ("owner_seen", "owner")
        }
        create = {
            Client: client_create,
            Matter: matter_create,
            Case: case_create,
            Deadline: deadline_create,
        }[self.model]
        try:
            return create(acting_user=request.user, owner=form.cleaned_data["owner"], **fields)
        except ValidationError as error:
            raise ChangeRefused(" ".join(error.messages)) from error

    def save_related(self, request, form, formsets, change):
        if change:  # a new record has nothing related to save: its service made it whole
            super().save_related(request, form, formsets, change)

    def save_model(self, request, obj, form, change):
        """On a change, the changed fields through record_update and a new owner
        through record_owner_change (a new record was created by save_form).

        The form has already run the model's validation (clean() refuses an
        inactive or ineligible owner); the service checks again with the
        owner's row locked, so a concurrent deactivation cannot slip in. Only the
        fields the form changed are written, so saving a record does not put
        back an owner that a transfer gave it after the form was opened."""
        if not change:
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "owner"}
        try:
            if changes:
                record_update(acting_user=request.user, record=obj, **changes)
            if "owner" in form.changed_data:
                record_owner_change(acting_user=request.user, record=obj, new_owner=obj.owner)
        except ValidationError as error:
            raise ChangeRefused(" ".join(error.messages)) from error

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if add or "owner" not in form.changed_data:
            return message
        old_id = form.initial.get("owner")
        old_owner = User.objects.filter(pk=old_id).first() if old_id else None
        new_owner = form.cleaned_data["owner"]
        owner_text = (
            f"Changed owner from {_person(old_owner, old_id)} to {_person(new_owner, None)}."
        )
        # The rest as Django words it ("Changed Status and Court."), without the owner.
        owner_label = str(form["owner"].label)
        rest = []
        for entry in message:
            if "changed" in entry and "name" not in entry["changed"]:
                fields = [f for f in entry["changed"]["fields"] if f != owner_label]
                if not fields:
                    continue
                entry = {"changed": {"fields": fields}}
            rest.append(entry)
        if not rest:
            return owner_text
        return f"{owner_text} {LogEntry(change_message=json.dumps(rest)).get_change_message()}"


@admin.register(Client)
class ClientAdmin(OwnedRecordAdmin):
    list_display = ["number", "name", "kind", "status", "owner", "updated_at"]
    list_filter = ["status", "kind", ("owner", OwnerListFilter)]
    search_fields = ["number", "name", "email"]


@admin.register(Matter)
class MatterAdmin(OwnedRecordAdmin):
    list_display = ["number", "title", "client", "practice_area", "status", "owner"]
    list_filter = ["status", "practice_area", ("owner", OwnerListFilter)]
    search_fields = ["number", "title", "client__name", "client__number"]
    autocomplete_fields = ["owner", "client"]
    list_select_related = ["owner", "client"]


class CaseAdminForm(OwnedRecordAdminForm):
    """The case's client follows its matter (the form has no client field), so a
    case moved to another client's matter validates instead of failing on a field
    the form does not show."""

    def clean(self):
        cleaned_data = super().clean()
        matter = cleaned_data.get("matter")
        if matter is not None:
            self.instance.client_id = matter.client_id
        return cleaned_data


@admin.register(Case)
class CaseAdmin(OwnedRecordAdmin):
    form = CaseAdminForm
    list_display = ["number", "caption", "matter", "court", "status", "owner"]
    list_filter = ["status", ("owner", OwnerListFilter)]
    search_fields = ["number", "caption", "matter__number", "client__name"]
    autocomplete_fields = ["owner", "matter"]
    list_select_related = ["owner", "matter"]
    exclude = ["client"]


class DeadlineAdminForm(OwnedRecordAdminForm):
    """The deadline's client follows its matter (the form has no client field), as a case's does."""

    def clean(self):
        cleaned_data = super().clean()
        matter = cleaned_data.get("matter")
        if matter is not None:
            self.instance.client_id = matter.client_id
        return cleaned_data


@admin.register(Deadline)
class DeadlineAdmin(OwnedRecordAdmin):
    """Marking a deadline done here snapshots who and when (clients.services.record_update)."""

    form = DeadlineAdminForm
    list_display = ["title", "due_date", "due_time", "kind", "status", "matter", "owner"]
    list_filter = ["status", "kind", ("owner", OwnerListFilter)]
    search_fields = ["title", "matter__number", "case__number", "client__name"]
    autocomplete_fields = ["owner", "matter", "case"]
    list_select_related = ["owner", "matter"]
    exclude = ["client", "completed_by"]
    readonly_fields = ["completed_by_name", "completed_at", "created_at", "updated_at"]


class ShareAdmin(admin.ModelAdmin):
    list_display = ["content_object", "permission"]
    list_select_related = ["content_object", "permission"]
    autocomplete_fields = ["content_object"]
    show_facets = admin.ShowFacets.NEVER


@admin.register(*(record_type.user_share_model for record_type in RECORD_TYPES))
class UserShareAdmin(ShareAdmin):
    list_display = ["content_object", "user", "permission"]
    list_select_related = ["content_object", "user", "permission"]
    autocomplete_fields = ["content_object", "user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


@admin.register(*(record_type.group_share_model for record_type in RECORD_TYPES))
class GroupShareAdmin(ShareAdmin):
    list_display = ["content_object", "group", "permission"]
    list_select_related = ["content_object", "group", "permission"]
    search_fields = ["group__name"]
