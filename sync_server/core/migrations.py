"""The server's database schema, as migrations: append only, never edit one that has shipped.

Each step runs in its own transaction with the version number it brings (PRAGMA user_version),
by the runner shared with the phone (walkaudit.migrations.apply_migrations, called from
`Database.migrate`); scripts are cut into statements where SQLite says one ends, so a trigger's
body or a string may hold a `;`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from walkaudit.migrations import run_script


def _m1_initial(db: sqlite_utils.Database) -> None:
    """Devices, enrolment, walks, findings with revisions, photos, events."""
    run_script(db, _INITIAL_SCHEMA)


_INITIAL_SCHEMA = """
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at TEXT
);
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    device_id TEXT REFERENCES devices(id)
);
CREATE TABLE walks (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    name TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    json TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX walks_device ON walks(device_id);
CREATE TABLE track_points (
    walk_id TEXT NOT NULL,
    t TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    accuracy REAL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    PRIMARY KEY (walk_id, t)
) WITHOUT ROWID;
CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    walk_id TEXT,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    note TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    accuracy REAL,
    position_source TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    duplicate_of TEXT,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX findings_device ON findings(device_id);
CREATE INDEX findings_walk ON findings(walk_id);
CREATE TABLE finding_revisions (
    id TEXT NOT NULL REFERENCES findings(id),
    revision INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    json TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    received_at TEXT NOT NULL,
    PRIMARY KEY (id, revision)
) WITHOUT ROWID;
CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE photo_refs (
    sha256 TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    size INTEGER NOT NULL,
    referenced_at TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
) WITHOUT ROWID;
CREATE TABLE finding_photos (
    finding_id TEXT NOT NULL REFERENCES findings(id),
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    PRIMARY KEY (finding_id, position)
) WITHOUT ROWID;
CREATE INDEX finding_photos_sha ON finding_photos(sha256);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    finding_device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    status_after TEXT NOT NULL,
    device_id TEXT REFERENCES devices(id),
    received_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX events_finding ON events(finding_id, seq);
CREATE INDEX events_pull ON events(finding_device_id, seq)
"""
# events.finding_device_id: the device that reported the finding, i.e. whose pull shows the
# event (findings never change device, so this copy cannot go stale); device_id: who pushed the
# event, NULL for events the server made itself.


def _m2_owners(db: sqlite_utils.Database) -> None:
    """Owner registry and areas, routing, the outbox, owner links, the geocoding cache."""
    run_script(db, _OWNERS_SCHEMA)


# Owners are identified by (kind, lower(name)): re-importing a file updates them in place.
# Areas are replaced per owner on re-import. `assignments` holds where each finding was routed
# (owner_id NULL = on the coordinator's triage list, with the reason). The outbox has one row per
# message with a unique dedupe_key, so a restart can never send a report twice; report_items says
# which findings a report carried. Owner links are stored as sha256 of the token only.
_OWNERS_SCHEMA = """
CREATE TABLE owners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('owner', 'municipality', 'police')),
    email TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'sv',
    municipality_code TEXT,
    source TEXT NOT NULL DEFAULT 'import',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX owners_identity ON owners(kind, lower(name));
CREATE TABLE owner_contacts (
    owner_id TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (owner_id, category)
);
CREATE TABLE owner_areas (
    id INTEGER PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
    feature TEXT NOT NULL,
    categories TEXT,
    geojson TEXT NOT NULL,
    min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL
);
CREATE INDEX owner_areas_owner ON owner_areas(owner_id);
CREATE TABLE assignments (
    finding_id TEXT PRIMARY KEY REFERENCES findings(id),
    owner_id TEXT REFERENCES owners(id),
    email TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    deadline TEXT,
    routed_at TEXT NOT NULL
);
CREATE INDEX assignments_owner ON assignments(owner_id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    owner_id TEXT REFERENCES owners(id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    message BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE TABLE report_items (
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    finding_id TEXT NOT NULL REFERENCES findings(id),
    PRIMARY KEY (outbox_id, finding_id)
);
CREATE INDEX report_items_finding ON report_items(finding_id);
CREATE TABLE owner_links (
    token_hash TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX owner_links_owner ON owner_links(owner_id);
CREATE TABLE geocode_cache (
    key TEXT PRIMARY KEY,
    address TEXT,
    fetched_at TEXT NOT NULL
)
"""


def _m3_workspace(db: sqlite_utils.Database) -> None:
    """The coordinator's workspace: accounts, follow-through of findings, follow-ups, Open311."""
    run_script(db, _WORKSPACE_SCHEMA)
    # Findings already on the server get their tracking row from the history they have.
    db.execute("INSERT INTO finding_tracking (finding_id) SELECT id FROM findings")
    for kind, column in _TRACKED_FIRST.items():
        db.execute(
            f"UPDATE finding_tracking SET {column} = (SELECT min(at) FROM events e"
            f" WHERE e.finding_id = finding_tracking.finding_id AND e.kind = ?)",
            [kind],
        )
    for kinds, column in _TRACKED_LAST.items():
        db.execute(
            f"UPDATE finding_tracking SET {column} = (SELECT max(at) FROM events e"
            f" WHERE e.finding_id = finding_tracking.finding_id AND e.kind IN"
            f" ({','.join('?' * len(kinds))}))",
            list(kinds),
        )


# When a finding was first sent and acknowledged (the owner's answer time), and when it was last
# fixed and closed (a reopen clears both): what the CSV export and the statistics read, kept up to
# date by history.record_event so 100,000 findings need no scan of their events.
_TRACKED_FIRST = {"sent": "sent_at", "acknowledged": "acknowledged_at"}
_TRACKED_LAST = {("fixed",): "fixed_at", ("verified", "closed"): "closed_at"}

# users: the coordinator web's accounts (argon2 hashes). sessions: cookie tokens stored as sha256.
# login_failures: the throttle's memory, kept in the database so that several workers and a
# restart see the same count. finding_tracking: one row per finding (see _TRACKED_*), the
# coordinator's priority, a merge and the "look at this" flag. followups: a named selection of
# open findings that walkers fetch by that name. api_keys / open311_updates: Open311 clients and
# the update ids they have posted (idempotence). findings_list covers what the coordinator's
# filters read, so counting 100,000 findings scans a narrow index instead of rows that carry
# their JSON (see finding_filters).
_WORKSPACE_SCHEMA = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'viewer')),
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE UNIQUE INDEX users_name ON users(lower(name));
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_name ON login_failures(name, at);
CREATE INDEX login_failures_address ON login_failures(address, at);
CREATE TABLE finding_tracking (
    finding_id TEXT PRIMARY KEY REFERENCES findings(id),
    priority TEXT CHECK (priority IN ('1', '2', '3')),
    sent_at TEXT,
    acknowledged_at TEXT,
    fixed_at TEXT,
    closed_at TEXT,
    merged_into TEXT REFERENCES findings(id),
    flagged_at TEXT,
    flag_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX finding_tracking_merged ON finding_tracking(merged_into)
    WHERE merged_into IS NOT NULL;
CREATE INDEX finding_tracking_flagged ON finding_tracking(flagged_at)
    WHERE flagged_at IS NOT NULL;
CREATE TABLE walk_participants (
    id INTEGER PRIMARY KEY,
    walk_id TEXT NOT NULL REFERENCES walks(id),
    name TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE UNIQUE INDEX walk_participants_email ON walk_participants(walk_id, lower(email));
CREATE TABLE followups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE UNIQUE INDEX followups_open_name ON followups(lower(name)) WHERE closed_at IS NULL;
CREATE TABLE followup_items (
    followup_id TEXT NOT NULL REFERENCES followups(id),
    finding_id TEXT NOT NULL REFERENCES findings(id),
    PRIMARY KEY (followup_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX followup_items_finding ON followup_items(finding_id);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner_id TEXT REFERENCES owners(id),
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE TABLE open311_updates (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id),
    update_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (api_key_id, update_id)
) WITHOUT ROWID;
CREATE INDEX findings_status ON findings(status);
CREATE INDEX findings_list ON findings(captured_at, id, status, category, severity, walk_id);
CREATE INDEX assignments_triage ON assignments(finding_id) WHERE owner_id IS NULL;
CREATE INDEX walks_area ON walks(lower(area));
CREATE INDEX assignments_deadline ON assignments(deadline, finding_id);
CREATE INDEX events_at ON events(at)
"""


def _m4_police_devices(db: sqlite_utils.Database) -> None:
    """Devices enrolled for the police/EST: only they see other devices' disorder findings."""
    # The option is chosen when the code is made and passes to the device that uses it.
    db.execute("ALTER TABLE enrol_codes ADD COLUMN police INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE devices ADD COLUMN police INTEGER NOT NULL DEFAULT 0")


def _m5_set_aside(db: sqlite_utils.Database) -> None:
    """What a background pass set aside, with why (sync_server.core.set_aside): one bad finding or
    summary waits on the triage page, and the others go on."""
    run_script(db, _SET_ASIDE_SCHEMA)


# item: a finding's id (= finding_id), or the weekly summary's week with finding_id NULL.
_SET_ASIDE_SCHEMA = """
CREATE TABLE set_aside (
    step TEXT NOT NULL,
    item TEXT NOT NULL,
    finding_id TEXT REFERENCES findings(id),
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (step, item)
) WITHOUT ROWID;
CREATE INDEX set_aside_finding ON set_aside(finding_id) WHERE finding_id IS NOT NULL
"""


# Migration 6 as it ran (a migration never changes): per table, the key naming the finding and
# the columns the statistics index reads (tests/server/stats checks that it reads no other).
_M6_LOGGED = (
    ("findings", "id", ("captured_at", "category", "walk_id", "status", "latitude", "longitude")),
    ("assignments", "finding_id", ("owner_id", "deadline")),
    ("finding_tracking", "finding_id", ("merged_into", "acknowledged_at", "fixed_at")),
)


def _m6_finding_changes(db: sqlite_utils.Database) -> None:
    """Which findings changed, in commit order (sync_server.stats.index catches up from it).

    Triggers renew a finding's row, under a new seq, on every write to the finding, its assignment
    or its tracking: in the writer's own transaction, whatever the write path (ingest, routing,
    history, the CLI, a hand edit). AUTOINCREMENT never hands out a seq again, and seq is taken
    under the write lock, so "seq > the last one seen" is exactly what changed since.
    """
    db.execute(
        "CREATE TABLE finding_changes"
        " (seq INTEGER PRIMARY KEY AUTOINCREMENT, finding_id TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX finding_changes_finding ON finding_changes(finding_id)")
    # One statement per trigger: the same three triggers for each table that says a finding
    # changed. An update counts only when it touches a column the statistics read (a note or an
    # updated_at does not: bulk writes stay cheap; a column newly read there needs a migration
    # that widens its trigger). An update that moves a row to another finding logs both.
    for table, key, read in _M6_LOGGED:
        new, old = f"NEW.{key}", f"OLD.{key}"
        moved = f"{old} IS NOT NULL AND {old} IS NOT {new}"
        renew = (
            "DELETE FROM finding_changes WHERE finding_id = {0};"
            " INSERT INTO finding_changes (finding_id) VALUES ({0});"
        )
        update = (
            renew.format(new)
            + f" DELETE FROM finding_changes WHERE finding_id = {old} AND {moved};"
            + f" INSERT INTO finding_changes (finding_id) SELECT {old} WHERE {moved};"
        )
        columns = ", ".join((key, *read))
        for name, when, body in (
            ("insert", "INSERT", renew.format(new)),
            ("update", f"UPDATE OF {columns}", update),
            ("delete", "DELETE", renew.format(old)),
        ):
            db.execute(
                f"CREATE TRIGGER {table}_changes_{name} AFTER {when} ON {table} BEGIN {body} END"
            )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial,
    _m2_owners,
    _m3_workspace,
    _m4_police_devices,
    _m5_set_aside,
    _m6_finding_changes,
]
