"""Signals of the clients app.

`owner_changed` is sent by clients.services.record_owner_change inside its
transaction, after the record has a new owner. A receiver records the change
(the transfers app writes it as a receipt, so a record's history, Transfer
History and Revert see it like any transfer) and returns what it wrote; the
service refuses to change an owner that nothing records. The clients app so
knows nothing of the apps above it.

Arguments: sender (the model), record, old_owner (User or None when that user
was deleted), new_owner, acting_user (User or None), changed_at.
"""

from django.dispatch import Signal

owner_changed = Signal()
