"""Settings › API tokens: the list, creating one (its secret shown once) and
revoking one. Administrators only (the integrations.*_apitoken permissions)."""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from integrations.models import ApiToken
from integrations.tokens.forms import ApiTokenCreateForm
from integrations.tokens.selectors import api_tokens
from integrations.tokens.services import api_token_create, api_token_revoke

NEW_SECRET_KEY = "api_token_new_secret"


class ApiTokenListView(PermissionRequiredMixin, View):
    permission_required = "integrations.view_apitoken"
    raise_exception = True
    template_name = "integrations/apitoken_list.html"

    def render(self, request, form, secret=None, created=None, status=200):
        return render(
            request,
            self.template_name,
            {
                "tokens": api_tokens(),
                "form": form,
                "secret": secret,
                "created": created,
                "may_create": request.user.has_perm("integrations.add_apitoken"),
                "may_revoke": request.user.has_perm("integrations.change_apitoken"),
            },
            status=status,
        )

    def get(self, request):
        # The secret of a token just created, kept in the session only until
        # this page shows it once (Post/Redirect/Get: a reload creates nothing).
        shown = request.session.pop(NEW_SECRET_KEY, None)
        if shown is None:
            return self.render(request, ApiTokenCreateForm())
        token_pk, secret = shown
        created = ApiToken.objects.filter(pk=token_pk).first()
        return self.render(request, ApiTokenCreateForm(), secret=secret, created=created)

    def post(self, request):
        if not request.user.has_perm("integrations.add_apitoken"):
            return self.handle_no_permission()
        form = ApiTokenCreateForm(request.POST)
        if not form.is_valid():
            return self.render(request, form, status=400)
        expires_on = form.cleaned_data["expires_at"]
        expires_at = (
            timezone.make_aware(datetime.combine(expires_on, time.max)) if expires_on else None
        )
        try:
            token, secret = api_token_create(
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=expires_at,
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.render(request, form, status=400)
        request.session[NEW_SECRET_KEY] = (token.pk, secret)
        return redirect("integrations:apitoken_list")


class ApiTokenRevokeView(PermissionRequiredMixin, View):
    permission_required = "integrations.change_apitoken"
    raise_exception = True

    def post(self, request, pk):
        token = get_object_or_404(ApiToken, pk=pk)
        try:
            api_token_revoke(token=token, acting_user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The API token “{token.name}” was revoked.")
        return redirect("integrations:apitoken_list")
