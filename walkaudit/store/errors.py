"""The store's errors, in one module so that screens can catch them without the store's code.

StoreError
  ├── NotFoundError        no such walk or finding
  ├── NoActiveWalkError    `walk end` without a started walk
  ├── FrozenError          deleting a finding the server may already hold
  └── ReopenClosedError    reopening a walk that ended too long ago
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors."""


class NotFoundError(StoreError):
    """No walk or finding with that id."""


class NoActiveWalkError(StoreError):
    """An operation needs a started walk and there is none."""


class FrozenError(StoreError):
    """The finding has been sent (or may have been): it can be revised, not deleted."""


class ReopenClosedError(StoreError):
    """The walk ended too long ago to be reopened, or another walk has started since."""
