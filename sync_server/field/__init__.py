"""What phones talk to: enrolment and device tokens, push, photo uploads, pull and the reads of a
walk, and offline map packages. The HTTP routes are in `sync_server.api.field` (one module per
job, same names); the rules are in the modules here, each in its docstring:

    devices        one-time enrolment codes, per-device tokens (stored only as sha256), revocation
    ingest         push: a device's batch stored idempotently in one transaction, an honest receipt
    photos         who may upload which photo, what counts as stored, recording a finished blob
    reads          pull (status changes of a device's own findings), open findings for follow-up
                   walks and the "same thing?" prompt, and the listing behind `walkaudit-server
                   findings`
    visibility     the disorder rule: another device's police-only findings (ORD) reach only a
                   device enrolled for the police/EST; every read of others' findings applies it
    tile_packages  offline map packages (a sub-package: area, source, fetch, preparing, MBTiles,
                   disk and sweep), prepared in the background from the server's own tile source

Follow one finding from the phone: `devices.enrol` gives the phone its token, `ingest.push`
stores the finding, `photos.record_stored` its photos once whole, and `reads.pull` brings the
owner's answer back to the phone. Nothing here imports the coordinator's desk (`workspace`): what
a walker's answer does to a finding's history is a rule of core (`core.walker_answers`).
"""

from __future__ import annotations

from sync_server.field.devices import (
    Device,
    authenticate,
    create_enrol_code,
    enrol,
    register_device,
    revoke,
)
from sync_server.field.ingest import check_door, push, push_json
from sync_server.field.photos import photo_receipts, record_stored, upload_state
from sync_server.field.reads import MAX_PULL_LIMIT, list_findings, open_findings, pull
from sync_server.field.tile_packages import TilePackages, sweep
from sync_server.field.visibility import POLICE_ONLY, photo_visible, visible_findings

__all__ = [
    "MAX_PULL_LIMIT",
    "POLICE_ONLY",
    "Device",
    "TilePackages",
    "authenticate",
    "check_door",
    "create_enrol_code",
    "enrol",
    "list_findings",
    "open_findings",
    "photo_receipts",
    "photo_visible",
    "pull",
    "push",
    "push_json",
    "record_stored",
    "register_device",
    "revoke",
    "sweep",
    "upload_state",
    "visible_findings",
]
