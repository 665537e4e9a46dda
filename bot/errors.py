"""The one error hierarchy: every error the bot raises on purpose derives from ``BotError``.

Two branches matter to callers:

- ``UserError``: something the person can fix. ``str(exc)`` is the sentence a chat (or the
  command line) shows as is, so it must be short, plain and free of internals.
- ``StorageError``: the storage seam's errors. Backends translate their driver's exceptions
  into these, so nothing above ``storage/`` sees ``sqlite3`` (or, later, ``psycopg``).

Modules that own a narrower error (``FetchError``, ``FeedError``, ``ExtractionError``,
``DeliveryError``...) derive it from one of these, as ``reader`` does with its tree.
This module imports nothing from the project: everything may import it.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of the bot's own errors."""


class UserError(BotError):
    """A mistake the person can fix; the message is the sentence shown to them."""


class UsageError(UserError):
    """A command's arguments are wrong; the message is a one-line hint."""


class LimitReached(UserError):
    """A per-chat limit (e.g. subscriptions) is reached; the message names it."""


class PlaceError(UserError):
    """A forum topic or thread cannot be made here; the message says why (e.g. a right)."""


class SourceError(UserError):
    """A source cannot be added or changed; the message says why in one line."""


class SourceRefused(SourceError):
    """The address was tried and does not work now (404, no such host, not a feed...).

    The message is the reason alone (``can't resolve host example.invalid``); the operator may
    add or change the source anyway (``--force``), and it is then retried on schedule.
    """


class InvalidDuration(UserError, ValueError):
    """Not a duration like ``90s``, ``15m``, ``2h`` (a ``ValueError`` for pydantic too)."""


class ConfigError(UserError):
    """Settings or a config file are wrong; the message names the variable or file."""


class StorageError(BotError):
    """The database failed or cannot be used; the message names the file where it can."""


class StorageBusy(StorageError):
    """Another process held the database past the busy timeout; nothing was changed."""


class InvalidSearch(StorageError, ValueError):
    """The search engine could not parse the query (also a ``ValueError``, as in reader)."""


class SearchTooBroad(InvalidSearch):
    """The query asks for too much work; the message is the sentence to show the user."""


class AlreadyExists(StorageError):
    """The thing to create is already there; the message says which."""


class SourceExists(AlreadyExists):
    """A source with that name or URL is already there."""


class SubscriptionExists(AlreadyExists):
    """This chat already follows that."""


class NotFound(StorageError):
    """The thing to change is not there (any more)."""


class TranslationUnavailable(BotError):
    """No translation this time (no model, budget spent, timeout, an unusable or unfaithful
    answer); ``str()`` says why, without secrets. The original is posted instead."""
