"""The "progress" database alias: where background transfers report their
phase and counts while their one transaction is still open.

Why a second alias rather than a row in the same database: on SQLite the
transfer's transaction holds the only write lock of the database file until
it commits, so a progress write to that file would wait for the very
transfer it describes. A second alias is a second connection that commits on
its own (autocommit): on SQLite it is a separate file next to the database;
on PostgreSQL it is the same database, so workers on other machines report
through it and every web server reads it. Only TransferProgress lives there.
"""

PROGRESS_DATABASE = "progress"
PROGRESS_MODEL = ("transfers", "transferprogress")


class ProgressRouter:
    def db_for_read(self, model, **hints):
        if (model._meta.app_label, model._meta.model_name) == PROGRESS_MODEL:
            return PROGRESS_DATABASE
        return None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == PROGRESS_DATABASE:
            return (app_label, model_name) == PROGRESS_MODEL
        # On PostgreSQL the progress alias is the default database itself, so
        # the table is created there too (`migrate --database progress` then
        # finds the migration applied).
        return None
