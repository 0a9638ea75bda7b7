"""A realistic coordinator's database for the workspace benchmarks: `seed_findings(db_path, n)`.

    import _workspace_seed
    info = _workspace_seed.seed_findings(tmp / "walkaudit.db", 100_000)

What it writes, in bulk SQL through the real schema (`Database(...).migrate()` first, so every
index the server has is there; nothing is routed or ingested through Python objects, which would
take minutes):
  * 25 devices, 30 areas (Upplands Väsby-like districts, each with a centre and one or two
    housing companies), 42 owners (the municipality, the police, property owners);
  * one walk per ~50 findings, spread over `years` (evenings, Swedish time), 3 % without area;
  * n findings: 95 % on a walk (captured during it), 5 % on their own; categories and severities
    weighted as walks find them (lighting, vegetation and graffiti most), positions scattered
    around the area's centre with a few hot spots; a note in Swedish;
  * assignments as routing would leave them: ORD to the police, OVR and ~3 % boundary cases on the
    triage list, the rest to a property owner of the area or the municipality, the deadline from
    `routing.deadline` (capture date + days per severity);
  * the history: received, sent (the day after the walk), acknowledged (most, after days),
    fixed (many, after weeks), verified/closed, some not_ours and reopened — each event before
    `now` — with finding_tracking and findings.status as history.record_event would leave them.
Deterministic for a given `seed` and `now`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync_server.core.db import Database  # noqa: E402
from sync_server.core.time import iso  # noqa: E402
from sync_server.owners.policy import deadline  # noqa: E402

SWEDEN = ZoneInfo("Europe/Stockholm")
AREAS = (
    "Centrum", "Vilunda", "Runby", "Brunnby-Vik", "Smedby", "Bollstanäs", "Sigma", "Fresta",
    "Breddén", "Stacken", "Folkparken", "Johannesdal", "Grimstaby", "Carlslund", "Skälby",
    "Ekebo", "Hasselgatan", "Glädjen", "Infra City", "Antuna", "Ekeby", "Väsby Entré",
    "Messingen", "Dragonvägen", "Tegelbruket", "Optimus", "Väsbyskolan", "Sjukyrkoberget",
    "Norrgården", "Östra Bollstanäs",
)  # fmt: skip
CATEGORY_WEIGHTS = {
    "BEL": 18, "VEG": 14, "OVB": 6, "KLO": 13, "SKR": 12, "TRA": 9, "GAN": 7, "ORI": 3,
    "SKA": 5, "TRF": 4, "FOL": 2, "ORD": 3, "POS": 2, "OVR": 2,
}  # fmt: skip
SEVERITY_WEIGHTS = {"low": 25, "medium": 45, "high": 24, "urgent": 6}
NOTES = {
    "BEL": (
        "Trasig lampa vid gångvägen",
        "Belysningen släckt under tunneln",
        "Mörkt vid busshållplatsen",
    ),
    "VEG": ("Buskage skymmer sikten", "Häcken behöver klippas", "Träd skuggar belysningen"),
    "OVB": ("Gömställe bakom förrådet", "Tunnel utan insyn", "Skymd entré mot parken"),
    "KLO": ("Klotter på elskåp", "Krossad ruta i busskuren", "Klotter på garagelängan"),
    "SKR": ("Nedskräpat vid återvinningen", "Fulla papperskorgar", "Glas på lekplatsen"),
    "TRA": ("Trasigt staket", "Parkbänken är sönder", "Skylten nedriven"),
    "GAN": ("Hål i asfalten", "Halt på trappan", "Kantsten saknas"),
    "ORI": ("Skylt saknas mot stationen", "Gatunamnet oläsbart", "Svårt att hitta entrén"),
    "SKA": ("Porten går inte i lås", "Källardörren står öppen", "Trasigt lås i trapphuset"),
    "TRF": ("Övergiven bil", "Felparkerat vid övergångsstället", "Höga farter på gatan"),
    "FOL": ("Öde torg på kvällen", "Stängd kiosk, ingen rörelse", "Få människor i parken"),
    "ORD": ("Samling av ungdomar vid tunneln", "Misstänkt langning", "Bråk vid torget"),
    "POS": ("Bra ny belysning", "Trivsam lekplats", "Välskött entré"),
    "OVR": ("Oklart – titta på fotot", "Att sortera", "Något med staketet?"),
}
CENTRE = (59.518, 17.912)  # Upplands Väsby


@dataclass
class Seeded:
    """What seed_findings wrote (for the benchmark's table and its sanity checks)."""

    findings: int = 0
    walks: int = 0
    events: int = 0
    owners: int = 0
    areas: tuple[str, ...] = AREAS
    owner_ids: list[str] = field(default_factory=list)
    first: datetime | None = None
    now: datetime | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def _uuid7(rng: random.Random, at: datetime) -> str:
    """A UUIDv7 string for a moment (the ids phones make sort by time, as here)."""
    ms = int(at.timestamp() * 1000)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _evening(rng: random.Random, day: datetime) -> datetime:
    """A walk's start: 17:00–21:30 Swedish time on that day (walks are held after dark)."""
    local = datetime(day.year, day.month, day.day, 17, 0, tzinfo=SWEDEN)
    return (local + timedelta(minutes=rng.randrange(0, 270))).astimezone(UTC)


def seed_findings(
    db_path: Path,
    n: int = 100_000,
    *,
    seed: int = 5,
    now: datetime | None = None,
    years: float = 2.0,
) -> Seeded:
    """Create (and migrate) the database at db_path and fill it as described above."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    first = now - timedelta(days=365 * years)
    db = Database(db_path)
    db.migrate()
    info = Seeded(now=now, first=first)
    stamp = iso(now)

    devices = [
        (
            _uuid7(rng, first),
            f"Telefon {i + 1}",
            hashlib.sha256(f"d{seed}:{i}".encode()).hexdigest(),
            stamp,
        )
        for i in range(25)
    ]
    owners: list[tuple[str, str, str, str]] = []  # id, name, kind, email
    municipality = (
        _uuid7(rng, first),
        "Upplands Väsby kommun",
        "municipality",
        "kommun@vasby.example",
    )
    police = (
        _uuid7(rng, first),
        "Polisen – lokalpolisområde Märsta",
        "police",
        "est@polisen.example",
    )
    owners += [municipality, police]
    area_owners: dict[str, list[str]] = {}
    centres: dict[str, tuple[float, float]] = {}
    hotspots: dict[str, list[tuple[float, float]]] = {}
    for k, area in enumerate(AREAS):
        angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0.004, 0.03)
        lat = CENTRE[0] + radius * math.sin(angle)
        lon = CENTRE[1] + radius * math.cos(angle) * 2
        centres[area] = (lat, lon)
        hotspots[area] = [(lat + rng.gauss(0, 0.0015), lon + rng.gauss(0, 0.003)) for _ in range(3)]
        ids = []
        for j in range(1 if k % 3 else 2):
            oid = _uuid7(rng, first)
            name = f"{'Väsbyhem' if j == 0 and k % 2 == 0 else 'Fastighets AB'} {area}"
            owners.append(
                (
                    oid,
                    f"{name} {j + 1}" if j else name,
                    "owner",
                    f"forvaltning{k}-{j}@fastighet.example",
                )
            )
            ids.append(oid)
        area_owners[area] = ids
    info.owner_ids = [o[0] for o in owners]
    info.owners = len(owners)

    # Walks: evenings spread over the period, a little denser lately (more walks each year).
    n_walks = max(1, n // 50)
    span = (now - first).total_seconds()
    walks = []  # (id, device, name, area, started, ended, area_for_findings)
    for i in range(n_walks):
        share = math.sqrt(rng.random())  # density grows towards now
        day = first + timedelta(seconds=span * share)
        started = _evening(rng, day)
        if started > now - timedelta(hours=3):
            started = now - timedelta(hours=rng.uniform(3, 24 * 30))
        area = AREAS[rng.randrange(len(AREAS))]
        walks.append(
            (
                _uuid7(rng, started),
                devices[rng.randrange(len(devices))][0],
                f"Trygghetsvandring {area} {i + 1}",
                "" if rng.random() < 0.03 else area,
                started,
                started + timedelta(minutes=rng.randrange(60, 150)),
                area,
            )
        )
    info.walks = len(walks)

    findings, revisions, tracking, assignments, events = [], [], [], [], []
    statuses: dict[str, int] = {}
    for i in range(n):
        on_walk = rng.random() < 0.95
        if on_walk:
            walk = walks[i % len(walks)] if i < len(walks) else walks[rng.randrange(len(walks))]
            walk_id, device_id, area = walk[0], walk[1], walk[6]
            captured = walk[4] + timedelta(
                seconds=rng.uniform(0, (walk[5] - walk[4]).total_seconds())
            )
        else:
            walk_id, device_id = None, devices[rng.randrange(len(devices))][0]
            area = AREAS[rng.randrange(len(AREAS))]
            captured = first + timedelta(seconds=span * math.sqrt(rng.random()))
        captured = min(captured, now - timedelta(minutes=5))
        category = _pick(rng, CATEGORY_WEIGHTS)
        severity = _pick(rng, SEVERITY_WEIGHTS)
        if rng.random() < 0.3:
            lat, lon = hotspots[area][rng.randrange(3)]
            lat, lon = lat + rng.gauss(0, 0.0003), lon + rng.gauss(0, 0.0006)
        else:
            lat, lon = centres[area]
            lat, lon = lat + rng.gauss(0, 0.003), lon + rng.gauss(0, 0.006)
        fid = _uuid7(rng, captured)
        note = rng.choice(NOTES[category])
        captured_s = iso(captured)
        payload = json.dumps(
            {
                "id": fid,
                "revision": 1,
                "walk_id": walk_id,
                "category": category,
                "severity": severity,
                "note": note,
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
                "accuracy": 6.0,
                "position_source": "gps",
                "captured_at": captured_s,
                "photos": [],
                "duplicate_of": None,
            },
            ensure_ascii=False,
        )
        content_hash = hashlib.sha256(payload.encode()).hexdigest()
        received = captured + timedelta(minutes=rng.uniform(1, 180))
        received = min(received, now)

        # Routing as the server does it.
        owner_id: str | None
        if category == "OVR" or rng.random() < 0.03:
            owner_id, reason = None, "triage" if category == "OVR" else "boundary"
        elif category == "ORD":
            owner_id, reason = police[0], "police"
        elif rng.random() < 0.6:
            owner_id, reason = rng.choice(area_owners[area]), "property"
        else:
            owner_id, reason = municipality[0], "municipality"
        due = deadline(severity, captured_s)
        assignments.append((fid, owner_id, None, reason, "", due, iso(received)))

        # The history, in time order; each event only if it happened before now.
        history: list[tuple[str, datetime, str]] = [("received", received, "received")]
        sent = ack = fixed = closed = None
        if owner_id is not None and category not in ("POS",):
            sent_at = received + timedelta(hours=rng.uniform(12, 40))
            if sent_at < now:
                sent = sent_at
                history.append(("sent", sent_at, "sent"))
                if rng.random() < 0.05:
                    t = sent_at + timedelta(days=rng.lognormvariate(1.5, 0.8))
                    if t < now:
                        history.append(("not_ours", t, "not_ours"))
                elif rng.random() < 0.78:
                    t = sent_at + timedelta(days=rng.lognormvariate(1.4, 0.9))
                    if t < now:
                        ack = t
                        history.append(("acknowledged", t, "acknowledged"))
                        fix_days = rng.lognormvariate(3.4, 0.8) * (
                            0.3 if severity == "urgent" else 1
                        )
                        t2 = t + timedelta(days=fix_days)
                        if rng.random() < 0.8 and t2 < now:
                            fixed = t2
                            history.append(("fixed", t2, "fixed"))
                            t3 = t2 + timedelta(days=rng.uniform(20, 200))
                            roll = rng.random()
                            if roll < 0.04 and t3 < now:
                                history.append(("reopened", t3, "reopened"))
                                fixed = None
                            elif roll < 0.45 and t3 < now:
                                closed = t3
                                history.append(("verified", t3, "verified"))
        elif category == "POS" and rng.random() < 0.5:
            t = received + timedelta(days=rng.uniform(1, 20))
            if t < now:
                closed = t
                history.append(("closed", t, "closed"))
        status = history[-1][2]
        statuses[status] = statuses.get(status, 0) + 1

        findings.append(
            (
                fid,
                1,
                device_id,
                walk_id,
                category,
                severity,
                note,
                lat,
                lon,
                6.0,
                "gps",
                captured_s,
                None,
                iso(received),
                iso(received),
                status,
                content_hash,
                payload,
            )
        )
        revisions.append((fid, 1, content_hash, payload, device_id, iso(received)))
        tracking.append(
            (
                fid,
                iso(sent) if sent else None,
                iso(ack) if ack else None,
                iso(fixed) if fixed else None,
                iso(closed) if closed else None,
            )
        )
        for kind, at, after in history:
            eid = _uuid7(rng, at)
            ejson = json.dumps(
                {
                    "id": eid,
                    "finding_id": fid,
                    "kind": kind,
                    "at": iso(at),
                    "note": "",
                    "photos": [],
                    "actor": "server",
                }
            )
            events.append(
                (
                    eid,
                    fid,
                    device_id,
                    kind,
                    iso(at),
                    "server",
                    "",
                    after,
                    None,
                    iso(at),
                    hashlib.sha256(ejson.encode()).hexdigest(),
                    ejson,
                )
            )

    # Rows in the order a server receives them (rowids follow time, as in real use); events by
    # their time, so seq follows arrival too.
    order = sorted(range(len(findings)), key=lambda k: findings[k][13])
    findings = [findings[k] for k in order]
    revisions = [revisions[k] for k in order]
    tracking = [tracking[k] for k in order]
    assignments = sorted(assignments, key=lambda a: a[6])
    events.sort(key=lambda e: e[4])
    with db.write() as tx:
        c = tx.conn
        c.executemany(
            "INSERT INTO devices (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)", devices
        )
        c.executemany(
            "INSERT INTO owners (id, name, kind, email, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(o[0], o[1], o[2], o[3], stamp, stamp) for o in owners],
        )
        c.executemany(
            "INSERT INTO walks (id, device_id, name, area, started_at, ended_at, json,"
            " received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    w[0],
                    w[1],
                    w[2],
                    w[3],
                    iso(w[4]),
                    iso(w[5]),
                    json.dumps({"id": w[0], "name": w[2], "area": w[3]}, ensure_ascii=False),
                    iso(w[5]),
                    iso(w[5]),
                )
                for w in walks
            ],
        )
        c.executemany(
            "INSERT INTO findings (id, revision, device_id, walk_id, category, severity, note,"
            " latitude, longitude, accuracy, position_source, captured_at, duplicate_of,"
            " received_at, updated_at, status, content_hash, json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            findings,
        )
        c.executemany(
            "INSERT INTO finding_revisions (id, revision, content_hash, json, device_id,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?)",
            revisions,
        )
        c.executemany(
            "INSERT INTO finding_tracking (finding_id, sent_at, acknowledged_at, fixed_at,"
            " closed_at) VALUES (?, ?, ?, ?, ?)",
            tracking,
        )
        c.executemany(
            "INSERT INTO assignments (finding_id, owner_id, email, reason, detail, deadline,"
            " routed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            assignments,
        )
        c.executemany(
            "INSERT INTO events (id, finding_id, finding_device_id, kind, at, actor, note,"
            " status_after, device_id, received_at, content_hash, json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            events,
        )
    db.conn().execute("ANALYZE")  # what a server that has run for a while would have
    db.close()
    info.findings, info.events, info.statuses = len(findings), len(events), statuses
    return info


if __name__ == "__main__":  # python bench/_workspace_seed.py /tmp/x.db 100000
    import time

    path, count = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    started = time.perf_counter()
    result = seed_findings(path, count)
    print(
        f"{result.findings} findings, {result.walks} walks, {result.events} events, "
        f"{result.owners} owners in {time.perf_counter() - started:.1f} s: {result.statuses}"
    )
