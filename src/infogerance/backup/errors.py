"""Errors raised by the backup engine.

Every failure a user can cause or meet (a wrong password, a repository of an unknown
version, a live lock, a damaged file) has its own class, so that callers can turn each
into a clear message without parsing text.
"""

from __future__ import annotations


class BackupError(Exception):
    """Base class of every error of the backup engine."""


class WrongPassword(BackupError):
    """No key file of the repository opens with the given password."""

    def __init__(self, message: str = "wrong password, or no key file matches it") -> None:
        super().__init__(message)


class UnsupportedRepositoryVersion(BackupError):
    """The repository's config announces a format version we do not understand."""


class RepositoryNotFound(BackupError):
    """There is no repository at the given location."""


class RepositoryExists(BackupError):
    """`init` was asked to create a repository where one already exists."""


class IntegrityError(BackupError):
    """A file or blob failed authentication, decoding or its hash check."""


class FileNotFound(BackupError):
    """A file of the repository is missing."""


class RepositoryLocked(BackupError):
    """Another live process holds a conflicting lock on the repository."""


class InvalidInput(BackupError):
    """A bad argument: an unknown snapshot, a path that does not exist, a bad policy."""


class WorkerFailed(BackupError):
    """A process that sealed blobs for a backup ended without finishing its work."""
