"""The models whose records a user owns (through an `owner` foreign key).

The users app does not know them: the app that defines them registers them
when it is ready (ClientsConfig.ready: clients, matters and cases), each under
the name of its count in a user's workload (RecordType.count_field)."""

from collections.abc import Mapping

from django.db.models import Model

_owned_models: dict[str, type[Model]] = {}


def owned_models_register(models: Mapping[str, type[Model]]) -> None:
    """Add owned models, keyed by the name of their count (RecordType.count_field)."""
    _owned_models.update(models)


def owned_models() -> dict[str, type[Model]]:
    """The owned models by the name of their count, in the order registered."""
    return dict(_owned_models)
