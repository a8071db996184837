"""Receipts of transfers. They keep text snapshots of the people they name,
so history survives the deletion of those users."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from clients.record_types import RECORD_TYPES, RecordCounts


class Transfer(models.Model):
    class Mode(models.TextChoices):
        ALL = "all", "User Transfer All"
        PER_CLIENT = "per_client", "User Transfer"
        REVERT = "revert", "Revert"
        # One record given to another owner outside a transfer (the admin,
        # clients.services.record_owner_change), recorded as a receipt.
        OWNER_CHANGE = "owner_change", "Owner change"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    mode = models.CharField(max_length=20, choices=Mode.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=300, blank=True)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transfers_from",
        help_text="The user records were taken from (for a revert: the user they return to).",
    )
    from_user_name = models.CharField(max_length=300, blank=True)
    deactivated_from_user = models.BooleanField(default=False)
    reactivated_user = models.BooleanField(
        default=False,
        help_text="A revert that reactivated the user the reverted transfer deactivated.",
    )
    reverted_transfer = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revert",
        help_text="The transfer this one reverts.",
    )
    counts = models.JSONField(
        default=dict,
        help_text="What moved per record type and the shares (clients.record_types.RecordCounts).",
    )
    skipped_count = models.PositiveIntegerField(
        default=0, help_text="A revert: records changed since the transfer and left alone."
    )
    # A database default too: hand-written SQL (benchmarks/bench.py) that names
    # the receipt's columns keeps working without it.
    revoked_share_count = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text=(
            "A deactivating transfer: the old user's shares it did not move, revoked "
            "(a revert: those it gave back)."
        ),
    )
    request_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="Sent by the form, so a resubmitted form lands on the same receipt.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Transfer #{self.pk} ({self.get_mode_display()}) from {self.from_user_name}"

    def get_absolute_url(self) -> str:
        return reverse("transfers:transfer_detail", kwargs={"pk": self.pk})

    @property
    def record_counts(self) -> RecordCounts:
        return RecordCounts.from_json(self.counts)

    @property
    def record_count(self) -> int:
        return self.record_counts.records


class TransferRecipient(models.Model):
    """A user who received records in a transfer, with what they received."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="recipients")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_user_name = models.CharField(max_length=300)
    counts = models.JSONField(
        default=dict, help_text="What they received per record type and the shares."
    )

    class Meta:
        ordering = ["to_user_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "to_user"], name="recipient_once")
        ]

    def __str__(self) -> str:
        return f"{self.to_user_name} in transfer #{self.transfer_id}"

    @property
    def record_counts(self) -> RecordCounts:
        return RecordCounts.from_json(self.counts)


class TransferredRecord(models.Model):
    """One record (or one share) moved by a transfer."""

    # One per owned record type ("case", "Case") and one per its shares
    # ("case_share", "Case share"): CLIENT, MATTER, CASE, CLIENT_SHARE, ...
    RecordType = models.TextChoices(
        "RecordType",
        [(t.name.upper(), (t.name, t.label)) for t in RECORD_TYPES]
        + [(t.share_name.upper(), (t.share_name, t.share_label)) for t in RECORD_TYPES],
    )

    # Receipts of large transfers hold hundreds of thousands of rows, written by
    # INSERT ... SELECT in the transaction that creates their Transfer, and every
    # index and foreign-key check here is paid once per row moved (docs/indexes.md).
    # So the columns are not checked by the database row by row: the engine
    # writes the transfer and its rows together, and Django still cascades a
    # deleted transfer or permission and sets deleted users to NULL.
    # `moved_record_history` serves a record's history and every lookup of one
    # record's row in a given transfer (the records a revert skipped), so
    # `moved_by_transfer` only has to find a transfer's rows of each type: the
    # rows one statement writes share its key, so each entry is appended next to
    # the previous one. Nothing may look a record up through it row by row: with
    # statistics that do not know a new transfer yet, the planner would scan the
    # whole transfer per record (a revert moves records back in one statement per
    # type for that reason). Only share rows are indexed by permission.
    transfer = models.ForeignKey(
        Transfer,
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField(help_text="The id of the client, matter or case.")
    permission = models.ForeignKey(
        "auth.Permission",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="For a share: the permission that moved.",
    )
    share_merged = models.BooleanField(
        default=False,
        help_text=(
            "For a share: the receiving user already held the same share, so the giving "
            "user's copy was removed instead of moved (a revert gives it back and leaves "
            "the receiving user's own share alone)."
        ),
    )
    # A receipt row whose `to_user` is NULL otherwise means its new user was
    # deleted since: a revoked share, which went to nobody, says so here. A
    # database default, so that SQL naming the other columns (benchmarks/bench.py,
    # the engine's moves) leaves it false.
    share_revoked = models.BooleanField(
        default=False,
        db_default=False,
        help_text=(
            "For a share: a deactivating transfer revoked it, since it did not move it "
            "(to_user is empty); on a revert, the revoked share given back to to_user "
            "(from_user is empty)."
        ),
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["transfer", "record_type", "record_id"]
        indexes = [
            models.Index(fields=["transfer", "record_type"], name="moved_by_transfer"),
            models.Index(
                fields=["record_type", "record_id", "transfer"], name="moved_record_history"
            ),
            models.Index(
                fields=["permission"],
                condition=models.Q(permission__isnull=False),
                name="moved_share_permission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_record_type_display()} #{self.record_id} in transfer #{self.transfer_id}"


class TransferJob(models.Model):
    """A transfer run by a worker (transfers.background) rather than inside a
    request: too large for a request, or scheduled for a later time. It runs
    through the same service, in one transaction.

    The receipt it produces carries the job's request_key, so the job is done
    exactly when that receipt is committed. At most one job per old user is
    scheduled, queued or running (a partial unique constraint)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.SCHEDULED, Status.QUEUED, Status.RUNNING)
    WAITING = (Status.SCHEDULED, Status.QUEUED)

    created_at = models.DateTimeField(default=timezone.now)
    run_at = models.DateTimeField(
        null=True, blank=True, help_text="When a scheduled transfer is to run."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When its worker last showed it was alive; while the transfer's transaction "
            "is open, its progress row carries the newer heartbeats."
        ),
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=20, choices=Transfer.Mode.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=300, blank=True)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="transfer_jobs"
    )
    from_user_name = models.CharField(max_length=300, blank=True)
    arguments = models.JSONField(
        default=dict, help_text="What the form asked for: new user(s), deactivation."
    )
    record_count = models.PositiveIntegerField(
        default=0, help_text="Clients, matters and cases the old user held when it was queued."
    )
    request_key = models.CharField(max_length=64, unique=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(
        max_length=200,
        blank=True,
        help_text="host:pid of the worker process that ran it, for the record (not for liveness).",
    )
    # No database constraint: receipts stay free of references, so the
    # benchmarks can TRUNCATE them between rounds (Django still sets NULL).
    transfer = models.OneToOneField(
        Transfer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="job",
        db_constraint=False,
    )
    refusal_code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_by_name = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_user"],
                condition=models.Q(status__in=["scheduled", "queued", "running"]),
                name="one_active_transfer_job_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Transfer job #{self.pk} ({self.get_status_display()}) from {self.from_user_name}"

    def get_absolute_url(self) -> str:
        return reverse("transfers:transfer_job", kwargs={"pk": self.pk})

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def run_at_text(self) -> str:
        """When it is scheduled for, in the firm's time zone: "Fri 12 Dec 2026, 18:00"."""
        if self.run_at is None:
            return ""
        return timezone.localtime(self.run_at).strftime("%a %-d %b %Y, %H:%M")

    @property
    def is_waiting(self) -> bool:
        """Not started yet: it can still be cancelled."""
        return self.status in self.WAITING

    @property
    def reverted_transfer_id(self) -> int | None:
        """The transfer a revert job reverts."""
        return self.arguments.get("transfer") if self.mode == Transfer.Mode.REVERT else None

    @property
    def title(self) -> str:
        """What it does, after "Progress of"."""
        if self.reverted_transfer_id:
            return f"the revert of transfer #{self.reverted_transfer_id}"
        return f"the transfer from {self.from_user_name}"


class TransferProgress(models.Model):
    """Where a running job is: written by the worker while its transaction is
    open, through the separate "progress" database alias (see
    transfers.background.routers), and read by the progress page. Its
    `updated_at` is renewed at least every TRANSFER_JOB_HEARTBEAT_INTERVAL
    seconds while the job runs: the job's heartbeat."""

    job_id = models.BigIntegerField(unique=True)
    phase = models.CharField(max_length=20)
    counts = models.JSONField(default=dict, help_text="Moved so far (RecordCounts).")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Progress of transfer job #{self.job_id}: {self.phase}"

    @property
    def record_counts(self) -> RecordCounts:
        return RecordCounts.from_json(self.counts)
