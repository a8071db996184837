from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse

from users.models import User
from users.selectors import eligible_owners, user_owns_anything, with_workload

DELETE_REFUSED = "{name} owns clients, matters or cases and cannot be deleted. Transfer them first."


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "email", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["first_name", "last_name", "username"]

    @admin.display(description="Full name", ordering="first_name")
    def full_name(self, obj):
        return obj.full_name

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

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None and user_owns_anything(user):
            self.message_user(request, DELETE_REFUSED.format(name=user.full_name), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:users_user_change", args=[user.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        owners = list(
            with_workload(queryset).filter(
                Q(client_count__gt=0) | Q(matter_count__gt=0) | Q(case_count__gt=0)
            )
        )
        if owners:
            for user in owners:
                self.message_user(
                    request, DELETE_REFUSED.format(name=user.full_name), messages.ERROR
                )
            queryset = queryset.exclude(pk__in=[user.pk for user in owners])
        super().delete_queryset(request, queryset)
