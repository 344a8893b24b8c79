"""The store's errors: one base class; SQLAlchemy and driver errors are wrapped with ``raise ... from e``."""


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class DatabaseError(StoreError):
    """The database could not be reached or refused a statement (locked, down, bad credentials, ...).

    The message never carries statement parameters (no customer text, no password).
    """


class MigrationError(StoreError):
    """The database's schema cannot be brought to this version's (say, a newer version migrated it).

    The message names DATABASE_URL, what was found and what to do.
    """


class SchemaBehind(MigrationError):
    """The database is at an older revision of ours, and the command running leaves upgrading it to
    ``db upgrade`` (an older ``serve`` may still be running on it).

    The message names DATABASE_URL, both revisions and what to run.
    """


class UnknownMessage(StoreError):
    """A message was completed, failed or abandoned without having been claimed."""
