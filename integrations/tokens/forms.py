from django import forms

from integrations.models import ApiToken


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “Okta provisioning”.")
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        help_text="SCIM: the identity provider's door (/scim/v2/). Transfers: the JSON API.",
    )
    expires_at = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a token that does not expire.",
    )
