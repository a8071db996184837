"""Names of the groups created by users/migrations/0002_default_groups.py."""

ADMINISTRATORS = "Administrators"
MANAGERS = "Managers"
ATTORNEYS = "Attorneys"
PARALEGALS = "Paralegals"
