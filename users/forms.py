"""Forms of the User Registration screens. They validate input; the services in
users.services write."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from users.account_states import account_state_choices, leavers, with_account_state
from users.models import User
from users.selectors import with_workload
from users.services import SUSPENSION_REASON_MAX_LENGTH


class UserSearchForm(forms.Form):
    """The search box and the status filter above the user grid: each account
    state (users.account_states), and Leavers."""

    ALL = "all"
    LEAVERS = "leavers"

    q = forms.CharField(label="Search users", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, username or email"}
        )
        self.fields["status"].choices = [
            (self.ALL, "All"),
            *account_state_choices(),
            (self.LEAVERS, "Leavers"),
        ]

    @property
    def shows_leavers(self) -> bool:
        return self.is_valid() and self.cleaned_data["status"] == self.LEAVERS

    def filter(self, users: QuerySet[User]) -> QuerySet[User]:
        """The users matching the search and the status, each annotated with
        its account state and what it owns (users.selectors.with_workload)."""
        if not self.is_valid():
            return with_workload(with_account_state(users))
        for term in self.cleaned_data["q"].split():
            users = users.filter(
                Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(username__icontains=term)
                | Q(email__icontains=term)
            )
        status = self.cleaned_data["status"] or self.ALL
        if status == self.LEAVERS:
            return with_account_state(leavers(users))
        users = with_account_state(users)
        if status != self.ALL:
            users = users.filter(account_state=status)
        return with_workload(users)


class SignInSuspendForm(forms.Form):
    """The confirmation of Suspend sign-in, with an optional reason."""

    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=SUSPENSION_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the account history, e.g. “Leaves the firm on Friday”.",
    )


def _groups_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label="Groups",
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Attorneys and Paralegals can own clients, matters and cases.",
    )


class UserCreateForm(forms.ModelForm):
    """Username, names, email, groups and a password checked by Django's validators."""

    error_messages = {
        "password_mismatch": "The two password fields didn’t match.",
        "username_taken": "A user with that username already exists.",
    }

    groups = _groups_field()
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Enter the same password as before, for verification.",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "groups"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(
                self.error_messages["username_taken"], code="username_taken"
            )
        return username

    def clean_password2(self) -> str:
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise forms.ValidationError(
                self.error_messages["password_mismatch"], code="password_mismatch"
            )
        return password2

    def _post_clean(self):
        super()._post_clean()
        # Validate the password against the user being created, so the
        # similarity validator can compare it with the names and email.
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, self.instance)
            except forms.ValidationError as error:
                self.add_error("password2", error)


class UserUpdateForm(forms.ModelForm):
    """Details, groups and the active state. Deactivation follows the rules of
    users.services.user_set_active; its refusals are added to `is_active`."""

    groups = _groups_field()
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="Inactive users cannot sign in or be given records.",
    )

    class Meta:
        model = User
        # is_active is not a model field of this form: construct_instance must
        # not change it behind user_set_active's back.
        fields = ["first_name", "last_name", "email", "groups"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["is_active"].initial = self.instance.is_active
