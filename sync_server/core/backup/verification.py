"""Checking a backup against its manifest: every file there, of its size and sha256."""

from __future__ import annotations

from pathlib import Path

from sync_server.core.backup.disk import digest
from sync_server.core.backup.errors import BackupDamaged, NotABackup
from sync_server.core.backup.manifest import DATABASE, MANIFEST, FileEntry, Manifest


def verify(src: Path) -> Manifest:
    """Check every file of a backup against its manifest (size and sha256); the manifest.

    BackupDamaged names the files that are missing or differ; NotABackup if there is no
    manifest this version reads.
    """
    src = src.absolute()
    manifest = read_manifest(src)
    problems = [p for p in (_check(src, entry) for entry in manifest.files) if p]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BackupDamaged(
            f"the backup in {src} is damaged: {'; '.join(problems[:3])}{more} — of "
            f"{len(manifest.files)} files; restore from another backup"
        )
    return manifest


def read_manifest(src: Path) -> Manifest:
    """The manifest of the backup in `src` (not checked against the files)."""
    path = src / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotABackup(
            f"{src} holds no {MANIFEST}, so it is not a backup made by `walkaudit-server "
            "backup`; give the directory that command wrote"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotABackup(f"cannot read {path}: {exc}") from None
    manifest = Manifest.from_json(text, src)
    if not any(f.path == DATABASE for f in manifest.files):
        raise NotABackup(f"{path} lists no {DATABASE}; it is not a complete backup")
    return manifest


def _check(src: Path, entry: FileEntry) -> str | None:
    """What is wrong with one file of a backup, as a phrase naming it, or None."""
    path = src / entry.path
    if path.is_symlink() or not path.is_file():
        return f"{entry.path} is missing"
    size = path.stat().st_size
    if size != entry.size:
        return f"{entry.path} is {size:,} bytes, but the manifest says {entry.size:,}"
    _, actual = digest(path)
    if actual != entry.sha256:
        return f"{entry.path} has sha256 {actual[:12]}…, but the manifest says {entry.sha256[:12]}…"
    return None
