from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils import timezone

OWN_RECORDS_PERMISSION = "users.own_records"
TRANSFER_RECORDS_PERMISSION = "users.transfer_records"
ACCESS_SETTINGS_PERMISSION = "users.view_user"


class User(AbstractUser):
    """A person who signs in. Owns clients, matters and cases when eligible.

    `sign_in_suspended_at` is set (only by users.services) while the
    person's sign-in is suspended: a leaver whose access ends at once while
    they still own records. Suspended, they cannot sign in, reset a password,
    use an API token or receive records, and keep what they own."""

    sign_in_suspended_at = models.DateTimeField(
        "sign-in suspended at",
        null=True,
        blank=True,
        help_text="Set while the user's sign-in is suspended (Suspend sign-in).",
    )
    sign_in_suspension_reason = models.CharField(
        "reason for the suspension", max_length=500, blank=True
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["first_name", "last_name", "username"]
        permissions = [
            ("own_records", "Can own clients, matters and cases"),
            ("transfer_records", "Can transfer records between users"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("users:user_update", kwargs={"pk": self.pk})

    @property
    def full_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_sign_in_suspended(self) -> bool:
        return self.sign_in_suspended_at is not None


class AccountEvent(models.Model):
    """One change to an account: created, deactivated, reactivated, groups or
    access changed, deleted. Written by users.services in the transaction of
    the change. Names are snapshots, so the history survives deletions."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"
        GROUPS_CHANGED = "groups_changed", "Groups changed"
        ACCESS_CHANGED = "access_changed", "Access changed"
        DELETED = "deleted", "Deleted"
        SIGN_IN_SUSPENDED = "sign_in_suspended", "Sign-in suspended"
        SIGN_IN_RESTORED = "sign_in_restored", "Sign-in restored"

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="account_events"
    )
    user_name = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=1000, blank=True)
    receipt_number = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="The transfer or revert that made this change (its receipt number).",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "created_at"], name="account_event_user_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user_name}"
