import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from users.selectors import user_is_eligible_owner

OWNER_ERRORS = {
    "owner_inactive": "{name} is inactive and cannot be given records.",
    "owner_ineligible": "{name} is not allowed to own clients, matters or cases.",
    "owner_suspended": "{name}'s sign-in is suspended, so they cannot be given records.",
}


def validate_owner(owner) -> None:
    """Refuse an owner who is inactive, suspended or lacks the permission to own records."""
    if owner is None:
        return
    for code, refused in (
        ("owner_inactive", not owner.is_active),
        ("owner_suspended", owner.sign_in_suspended_at is not None),
    ):
        if refused:
            raise ValidationError(
                {
                    "owner": ValidationError(
                        OWNER_ERRORS[code].format(name=owner.full_name), code=code
                    )
                }
            )
    if not user_is_eligible_owner(owner):
        raise ValidationError(
            {
                "owner": ValidationError(
                    OWNER_ERRORS["owner_ineligible"].format(name=owner.full_name),
                    code="owner_ineligible",
                )
            }
        )


class OwnedRecord(models.Model):
    """Fields and rules shared by clients, matters and cases."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.owner_id is not None and self._owner_changed():
            validate_owner(self.owner)

    def _owner_changed(self) -> bool:
        if self.pk is None:
            return True
        stored = type(self).objects.filter(pk=self.pk).values_list("owner_id", flat=True).first()
        return stored != self.owner_id


class Client(OwnedRecord):
    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PROSPECTIVE = "prospective", "Prospective"
        FORMER = "former", "Former"

    number = models.CharField(max_length=20, help_text="For example C-00042.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PERSON)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_clients",
        db_index=True,
    )

    class Meta:
        ordering = ["number"]
        # Every index here is paid for on every transfer: docs/indexes.md says
        # which query uses each one and what it costs. Unique numbers are a
        # constraint rather than unique=True, which would add a varchar_pattern_ops
        # copy of the index that no query here uses.
        constraints = [models.UniqueConstraint(fields=["number"], name="client_number_unique")]
        indexes = [
            # Grid sort orders (number is the tie-breaker, so LIMIT stops early).
            # Kept on clients: a Transfer All moves 25 times fewer clients than cases.
            models.Index(fields=["name", "number"], name="client_name_number"),
            models.Index(fields=["status", "number"], name="client_status_number"),
            models.Index(fields=["kind", "number"], name="client_kind_number"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def get_absolute_url(self) -> str:
        return reverse("clients:client_detail", kwargs={"pk": self.pk})


class Matter(OwnedRecord):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class PracticeArea(models.TextChoices):
        LITIGATION = "litigation", "Litigation"
        CORPORATE = "corporate", "Corporate"
        EMPLOYMENT = "employment", "Employment"
        FAMILY = "family", "Family"
        REAL_ESTATE = "real_estate", "Real estate"
        IMMIGRATION = "immigration", "Immigration"
        INTELLECTUAL_PROPERTY = "ip", "Intellectual property"
        TAX = "tax", "Tax"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="matters")
    number = models.CharField(max_length=20, help_text="For example M-000123.")
    title = models.CharField(max_length=200)
    practice_area = models.CharField(
        max_length=20, choices=PracticeArea.choices, default=PracticeArea.LITIGATION
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_matters",
        db_index=False,  # matter_owner_client serves every lookup by owner
    )

    class Meta:
        ordering = ["number"]
        # No sort index: each would cost a Transfer All more than it saves
        # (docs/indexes.md); the grid sorts by title, area or status once a
        # filter has narrowed the rows (clients.tables.MatterTable).
        constraints = [models.UniqueConstraint(fields=["number"], name="matter_number_unique")]
        indexes = [
            models.Index(fields=["owner", "client"], name="matter_owner_client"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.number})"

    def get_absolute_url(self) -> str:
        return reverse("clients:matter_detail", kwargs={"pk": self.pk})


class Case(OwnedRecord):
    """A case under a matter. `client` repeats the matter's client so that
    per-client work (links, transfers) needs no join through matters."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="cases")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases")
    number = models.CharField(max_length=20, help_text="For example K-0001234.")
    caption = models.CharField(max_length=250)
    court = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_cases",
        db_index=False,  # case_owner_client serves every lookup by owner
    )

    class Meta:
        ordering = ["number"]
        # No sort index: each would cost a Transfer All more than it saves
        # (docs/indexes.md); the grid sorts by caption, court or status once a
        # filter has narrowed the rows (clients.tables.CaseTable).
        constraints = [models.UniqueConstraint(fields=["number"], name="case_number_unique")]
        indexes = [
            models.Index(fields=["owner", "client"], name="case_owner_client"),
        ]

    def __str__(self) -> str:
        return f"{self.caption} ({self.number})"

    def save(self, *args, **kwargs):
        if self.matter_id is not None:
            self.client_id = self.matter.client_id
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("clients:case_detail", kwargs={"pk": self.pk})

    def clean(self):
        super().clean()
        if (
            self.matter_id is not None
            and self.client_id is not None
            and self.matter.client_id != self.client_id
        ):
            raise ValidationError(
                {
                    "client": ValidationError(
                        "The case's client must be its matter's client.", code="client_mismatch"
                    )
                }
            )


class Deadline(OwnedRecord):
    """A date that must not be missed, under a matter and optionally one of its cases.

    `client` repeats the matter's client, as a case's does, so that per-client
    work (access, transfers) needs no join through matters. A done deadline
    keeps who completed it and when, the name as a snapshot that outlives the
    user."""

    class Kind(models.TextChoices):
        COURT_DEADLINE = "court_deadline", "Court deadline"
        LIMITATION_DATE = "limitation_date", "Limitation date"
        HEARING = "hearing", "Hearing"
        FILING = "filing", "Filing"
        TASK = "task", "Task"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="deadlines")
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="deadlines", null=True, blank=True
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="deadlines")
    title = models.CharField(max_length=200)
    due_date = models.DateField()
    due_time = models.TimeField(null=True, blank=True, help_text="Leave empty for the whole day.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TASK)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_deadlines",
        db_index=False,  # deadline_owner_client serves every lookup by owner
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        # Read only through a deadline; its index would be paid by every transfer.
        db_index=False,
    )
    completed_by_name = models.CharField(max_length=300, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["owner", "client"], name="deadline_owner_client"),
            # The grid's order, and its due windows (a range of due dates).
            models.Index(fields=["due_date", "id"], name="deadline_due_date_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="open", completed_at__isnull=True)
                    | models.Q(status="done", completed_at__isnull=False)
                ),
                name="deadline_completed_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (due {self.due_date:%Y-%m-%d})"

    def save(self, *args, **kwargs):
        if self.matter_id is not None:
            self.client_id = self.matter.client_id
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("clients:deadline_detail", kwargs={"pk": self.pk})

    def clean(self):
        super().clean()
        if self.matter_id is None:
            return
        if self.case_id is not None and self.case.matter_id != self.matter_id:
            raise ValidationError(
                {
                    "case": ValidationError(
                        "The case must be one of the deadline's matter's cases.",
                        code="case_not_under_matter",
                    )
                }
            )
        if self.client_id is not None and self.matter.client_id != self.client_id:
            raise ValidationError(
                {
                    "client": ValidationError(
                        "The deadline's client must be its matter's client.",
                        code="client_mismatch",
                    )
                }
            )

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    def is_overdue(self, today: datetime.date) -> bool:
        """Open and due before `today` (the firm's date)."""
        return self.status == self.Status.OPEN and self.due_date < today


# Explicit shares, one table per record type (guardian's direct foreign keys).


class ClientUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Client, on_delete=models.CASCADE)


class ClientGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Client, on_delete=models.CASCADE)


class MatterUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)


class MatterGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)


class CaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class DeadlineUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Deadline, on_delete=models.CASCADE)


class DeadlineGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Deadline, on_delete=models.CASCADE)


# The searched text, on PostgreSQL only (docs/indexes.md, "Search: the searched text
# apart"): one row per record, the columns the grid searches, kept in step by
# triggers on the record's table that fire on an insert or a change of that text and
# never on an owner change, so a transfer writes neither these tables nor their
# trigram indexes. Clients migration 0009 creates the triggers, the foreign key (the
# record's id, ON DELETE CASCADE) and the rest; SQLite searches the records' columns.


class SearchText(models.Model):
    class Meta:
        abstract = True
        required_db_vendor = "postgresql"
        default_permissions = ()


def _record_key(model) -> models.OneToOneField:
    """The record's id, named `id`: Django does not delete or check these rows (the
    database's foreign key cascades a deleted record, migration 0009)."""
    return models.OneToOneField(
        model,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="id",
        db_constraint=False,
        related_name="+",
    )


def _trigram_index(table: str, *columns: str) -> GinIndex:
    """A GIN index of the trigrams of UPPER(column), the expression of `icontains`."""
    opclasses = (OpClass(Upper(column), name="gin_trgm_ops") for column in columns)
    return GinIndex(*opclasses, name=f"{table}_trgm")


class ClientSearch(SearchText):
    record = _record_key(Client)
    number = models.CharField(max_length=20)
    name = models.CharField(max_length=200)

    class Meta(SearchText.Meta):
        db_table = "clients_client_search"
        indexes = [_trigram_index("clients_client_search", "number", "name")]

    def __str__(self) -> str:
        return f"Searched text of client #{self.pk}"


class MatterSearch(SearchText):
    record = _record_key(Matter)
    number = models.CharField(max_length=20)
    title = models.CharField(max_length=200)

    class Meta(SearchText.Meta):
        db_table = "clients_matter_search"
        indexes = [_trigram_index("clients_matter_search", "number", "title")]

    def __str__(self) -> str:
        return f"Searched text of matter #{self.pk}"


class CaseSearch(SearchText):
    record = _record_key(Case)
    number = models.CharField(max_length=20)
    caption = models.CharField(max_length=250)

    class Meta(SearchText.Meta):
        db_table = "clients_case_search"
        indexes = [_trigram_index("clients_case_search", "number", "caption")]

    def __str__(self) -> str:
        return f"Searched text of case #{self.pk}"


class DeadlineSearch(SearchText):
    record = _record_key(Deadline)
    title = models.CharField(max_length=200)

    class Meta(SearchText.Meta):
        db_table = "clients_deadline_search"
        indexes = [_trigram_index("clients_deadline_search", "title")]

    def __str__(self) -> str:
        return f"Searched text of deadline #{self.pk}"
