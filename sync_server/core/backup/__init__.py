"""Backup and restore of a server's data directory, while the server runs.

A backup is a directory laid out like the data directory, plus `manifest.json`:

    walkaudit.db                  the database, copied with SQLite's online backup API
    photos/blobs/ab/cd/<sha256>   every complete photo (content-addressed, verified)
    outbox/*.eml                  delivered messages when no SMTP server is configured
    server-url, …                 the small files `serve` keeps at the top of the data directory
    manifest.json                 every file above with its size and sha256, the schema version,
                                  the walkaudit version and the time of the database snapshot

Why it is consistent although phones keep syncing:
- The database copy is ONE read transaction (`backup(pages=-1)`): a snapshot as of one commit. In
  WAL mode a reader blocks no writer, so the server's pushes go on meanwhile. (Copying in steps
  does not work against a busy server: every commit by another connection restarts the copy —
  measured: 2,459 restarts in 3,000 steps and no end, while one step took 6 s for 750 MB with
  writers committing 3,700 times a second throughout.)
- The photos are copied after the snapshot. A `photos` row is written only after its blob was
  verified and renamed into place (sync_server.field.photos), and a stored blob is never changed or
  removed (its name is its content's hash), so every photo the snapshot knows is on disk by then.
- Photos finished after the snapshot are copied too (harmless extras): their bytes are verified
  against their name like every other, and the restored server counts such a blob as stored when
  a phone names it (the blob store is the truth, see sync_server.field.photos) — so a photo whose
  finding made it into the snapshot but whose upload finished just after is not lost.
- Left out, on purpose: partial uploads (`photos/partial`; the phone still holds the photo and
  uploads it again), thumbnails (`thumbs`; a cache, made again on first view), SQLite's -wal and
  -shm files (the snapshot already holds what they held), hidden files (temporary names of
  atomic writes) and directories the server does not write (the demo's field devices live in
  the data directory). The manifest lists what was left out and why.
- A photo whose bytes no longer match its name (a damaged disk) is not copied — its wrong bytes
  under a hash name would be served as the photo — and is listed as damaged; everything else is
  still backed up, so one bad file does not cost the whole night's backup.

A backup is built in a hidden directory next to DEST and renamed into place when complete, so a
failed or interrupted backup never looks like one. `restore` does the same when the data
directory does not exist yet; into an existing empty one it builds in a hidden directory inside
it and moves the entries up, because the service's user may not write the parent (/srv of
/srv/walkaudit) and a mount point cannot be renamed onto. Everything in a backup is its owner's
alone (files 0600, directories 0700): it holds names, notes, photos and owner links.

The package, by job:

    snapshot      backup(): the database snapshot, the photos, the outbox and small files
    verification  verify(), read_manifest(): a backup checked against its manifest
    restoration   restore(): verified, built aside, migrated, put into place
    manifest      Manifest (manifest.json), FileEntry, Note, RestoreResult; what is printed
    disk          private, fsynced, hashed copies; staging and putting into place
    errors        BackupError ─ BackupTargetNotEmpty, NotABackup, BackupDamaged, BackupTooNew
"""

from __future__ import annotations

from sync_server.core.backup.errors import (
    BackupDamaged,
    BackupError,
    BackupTargetNotEmpty,
    BackupTooNew,
    NotABackup,
)
from sync_server.core.backup.manifest import (
    DATABASE,
    FORMAT,
    MANIFEST,
    FileEntry,
    Manifest,
    Note,
    RestoreResult,
)
from sync_server.core.backup.restoration import restore
from sync_server.core.backup.snapshot import backup
from sync_server.core.backup.verification import read_manifest, verify

__all__ = [
    "DATABASE",
    "FORMAT",
    "MANIFEST",
    "BackupDamaged",
    "BackupError",
    "BackupTargetNotEmpty",
    "BackupTooNew",
    "FileEntry",
    "Manifest",
    "NotABackup",
    "Note",
    "RestoreResult",
    "backup",
    "read_manifest",
    "restore",
    "verify",
]
