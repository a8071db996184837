"""The points a transfer or revert passes, inside its transaction, that tests can fail at."""


def fault_point(step: str, **details: object) -> None:
    """Reached after each step of a transfer or revert ("locked", "audit_owned",
    "move_owned", "move_shares", "revoke_shares", "deactivate", "revert_owned",
    "revert_shares", "restore_shares", "reactivate"), with what it worked on. It
    does nothing: tests replace it to fail, or to hold the transaction open, at a
    chosen step."""
