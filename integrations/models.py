from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A credential for another system. Only a SHA-256 digest of the secret is
    stored (the secret is shown once, when created); the token acts for the
    administrator who created it, and stops working when revoked, expired, or
    when that administrator may no longer act."""

    class Scope(models.TextChoices):
        SCIM = "scim", "SCIM"
        TRANSFERS = "transfers", "Transfers"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, shown in lists so a token can be recognised.
    prefix = models.CharField(max_length=16, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_name = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_scope_display()})"

    @property
    def actor_name(self) -> str:
        """How account events name a change this token made."""
        return f"API token “{self.name}” ({self.created_by.full_name})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class ScimIdentity(models.Model):
    """What the identity provider knows of a user beyond the account itself:
    its externalId, and whether it deleted the user (the account stays,
    suspended or deactivated, and SCIM answers 404 for it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_identity"
    )
    external_id = models.CharField(max_length=255, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SCIM identity"

    def __str__(self) -> str:
        return f"SCIM identity of {self.user}"
