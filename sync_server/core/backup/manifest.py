"""What a backup holds (manifest.json: every file with its size and sha256), and what the
commands print about a backup made or restored.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path, PurePosixPath

from sync_server.core.backup.errors import NotABackup
from walkaudit.model import SHA256_PATTERN

MANIFEST = "manifest.json"
FORMAT = 1  # of manifest.json; a reader refuses a format it does not know
DATABASE = "walkaudit.db"
SHA256 = re.compile(SHA256_PATTERN)
COUNTED = ("findings", "events", "walks", "photos", "devices")  # rows counted in a backup


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One file of a backup: its path relative to the backup's root, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class Note:
    """Something left out of a backup (skipped) or that could not be copied (damaged), and why."""

    path: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a backup holds; written as manifest.json."""

    created_at: str  # when the database snapshot was taken
    finished_at: str
    walkaudit_version: str
    schema_version: int
    counts: dict[str, int]  # rows in the database copy: findings, events, walks, photos, devices
    files: tuple[FileEntry, ...]
    skipped: tuple[Note, ...] = ()
    damaged: tuple[Note, ...] = ()
    # The backup's directory, once it is known (not part of manifest.json).
    root: Path | None = dataclasses.field(default=None, compare=False)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def photo_files(self) -> tuple[FileEntry, ...]:
        return tuple(f for f in self.files if f.path.startswith("photos/"))

    def to_json(self) -> str:
        """The manifest.json text."""
        body = {
            "format": FORMAT,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "walkaudit_version": self.walkaudit_version,
            "schema_version": self.schema_version,
            "counts": self.counts,
            "files": [vars(f) for f in self.files],
            "skipped": [vars(n) for n in self.skipped],
            "damaged": [vars(n) for n in self.damaged],
        }
        return json.dumps(body, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, root: Path | None = None) -> Manifest:
        """Parse manifest.json; NotABackup(why) if it is not one this version reads."""
        where = root / MANIFEST if root else MANIFEST
        try:
            body = json.loads(text)
            if body.get("format") != FORMAT:
                raise NotABackup(
                    f"{where} is in format {body.get('format')!r}, but this walkaudit-server "
                    f"reads format {FORMAT}; restore it with the version that made it"
                )
            files = tuple(
                FileEntry(_safe_path(str(f["path"])), int(f["size"]), _sha(str(f["sha256"])))
                for f in body["files"]
            )
            return cls(
                created_at=str(body["created_at"]),
                finished_at=str(body["finished_at"]),
                walkaudit_version=str(body["walkaudit_version"]),
                schema_version=int(body["schema_version"]),
                counts={str(k): int(v) for k, v in body["counts"].items()},
                files=files,
                skipped=tuple(Note(str(n["path"]), str(n["reason"])) for n in body["skipped"]),
                damaged=tuple(Note(str(n["path"]), str(n["reason"])) for n in body["damaged"]),
                root=root,
            )
        except NotABackup:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotABackup(f"{where} is not a walkaudit backup manifest ({exc})") from None

    def lines(self) -> list[str]:
        """What `walkaudit-server backup` prints: what was copied, left out, damaged; where."""
        photos = self.photo_files
        other = [f for f in self.files if f.path != DATABASE and f not in photos]
        db = next(f for f in self.files if f.path == DATABASE)
        counts = ", ".join(f"{k}: {self.counts.get(k, 0)}" for k in COUNTED)
        out = [
            f"Backed up the database as of {self.created_at} ({_mb(db.size)}; schema "
            f"{self.schema_version}; {counts}),",
            f"  {len(photos)} photo(s) ({_mb(sum(f.size for f in photos))}) and {len(other)} "
            f"other file(s) ({_mb(sum(f.size for f in other))}): {len(self.files)} files, "
            f"{self.total_bytes:,} bytes in all.",
        ]
        out += [f"  Left out: {n.path} — {n.reason}" for n in self.skipped]
        out += [f"  DAMAGED, not in the backup: {n.path} — {n.reason}" for n in self.damaged]
        if self.root is not None:
            out.append(f"Manifest (sizes and sha256 of every file): {self.root / MANIFEST}")
        return out


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """What `restore` brought into the data directory."""

    data_dir: Path
    manifest: Manifest
    findings: int
    photos: int
    schema_version: int  # after the migrations this server ran on the restored database

    def lines(self, command: str = "walkaudit-server") -> list[str]:
        """What `walkaudit-server restore` prints."""
        out = [
            f"Restored {self.findings} findings, {self.photos} photos into {self.data_dir} "
            f"(backup of {self.manifest.created_at}, {len(self.manifest.files)} files, "
            f"{self.manifest.total_bytes:,} bytes, all sha256 verified).",
        ]
        out += [
            f"  Not in this backup (damaged on the server it came from): {n.path}"
            for n in self.manifest.damaged
        ]
        out.append(f"Start the server with: {command} --data {self.data_dir} serve")
        return out


def _safe_path(path: str) -> str:
    """A manifest's path, if it stays inside the backup; ValueError otherwise."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or path == MANIFEST:
        raise ValueError(f"the path {path!r} is not a file inside the backup")
    if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise ValueError(f"the path {path!r} is not a file inside the backup")
    return path


def _sha(value: str) -> str:
    if not SHA256.match(value):
        raise ValueError(f"{value!r} is not a sha256")
    return value


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
