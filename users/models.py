from django.contrib.auth.models import AbstractUser
from django.urls import reverse

OWN_RECORDS_PERMISSION = "users.own_records"
TRANSFER_RECORDS_PERMISSION = "users.transfer_records"
ACCESS_SETTINGS_PERMISSION = "users.view_user"


class User(AbstractUser):
    """A person who signs in. Owns clients, matters and cases when eligible."""

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
