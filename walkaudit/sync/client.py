"""SyncClient: enrol a device, push the outbox, upload photos resumably, pull status changes.

The HTTP client is passed in (`SyncClient(store, http=httpx.Client(base_url=...))`), so the same
code runs over a real socket and in-process against Starlette's TestClient.
The protocol: sync_server/PROTOCOL.md.

Nothing is ever removed here: the store only records what the server confirmed (per record, per
photo hash), and a failure at any point leaves the rest waiting for the next sync.

One bad item stops nothing. A push batch is refused whole when one record in it is refused for
good (422: a time outside the server's window, a number out of range; 403: an event kind a
device may not send; 413: too large), so the client halves the batch until it has the record(s)
the server refuses — about 2·log2(n) requests per bad record — and every other record arrives in
the same sync. A refused record, and a photo the server refuses (415: its bytes do not decode;
413), is set aside in the store with the server's reason (Store.refuse, Store.refuse_photo): kept,
shown to the walker, not sent again in every sync. Before any halving, an empty batch checks
that the refusal is about records at all and not about this device or protocol.

Errors: SyncError and its kinds (errors.py).

Every request is bounded by the httpx client's timeouts; a photo is sent in small pieces so a
slow link still shows activity (`on_activity`) and no single write waits for a whole chunk.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import httpx

from walkaudit import model
from walkaudit.store import Store
from walkaudit.sync.errors import (
    EnrolError,
    PhotoRefusedError,
    ServerRejectedError,
    ServerUnreachableError,
)
from walkaudit.sync.report import Progress, ProgressCallback, Refusal, SyncReport
from walkaudit.sync.transport import (
    RetryPolicy,
    Transient,
    Transport,
    detail_of,
    reason_of,
    why,
)

CHUNK_SIZE = 1 << 20  # 1 MiB: after a cut at most this much is sent again
PIECE_SIZE = 64 * 1024  # a chunk goes out in pieces: each write is short, each one is activity
BATCH_FINDINGS = 100
# A push refused with one of these is refused for something in it (a record, or its size):
# halve it to find what. Any other refusal stops the sync.
RECORD_REFUSALS = frozenset({403, 413, 422})
# A photo refused with one of these will be refused again: set it aside instead of resending.
PHOTO_REFUSALS = frozenset({413, 415})
DEFAULT_RETRY = RetryPolicy()  # frozen: one shared default is safe


def enrol(
    store: Store, http: httpx.Client, server_url: str, code: str, device_name: str = ""
) -> model.EnrolResponse:
    """Trade a one-time code for this device's token and remember the server."""
    body = model.EnrolRequest(code=code.strip(), device_name=device_name).model_dump_json()
    url = server_url.rstrip("/") + "/v1/enrol"
    try:
        r = http.post(url, content=body, headers={"Content-Type": "application/json"})
    except httpx.TransportError as exc:
        raise ServerUnreachableError(f"cannot reach {server_url}: {why(exc)}") from exc
    if r.status_code != 201:
        raise EnrolError(f"the server refused the code: {detail_of(r)}")
    answer = model.EnrolResponse.model_validate_json(r.content)
    store.set_meta(
        server_url=server_url.rstrip("/"),
        device_id=answer.device_id,
        token=answer.token,
        device_name=device_name or None,
    )
    return answer


class SyncClient(Transport):
    """Push, upload and pull for one data directory."""

    def __init__(
        self,
        store: Store,
        http: httpx.Client,
        *,
        chunk_size: int = CHUNK_SIZE,
        batch_findings: int = BATCH_FINDINGS,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        on_progress: ProgressCallback | None = None,
        rng: random.Random | None = None,
        on_activity: Callable[[], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.http = http
        self.chunk_size = chunk_size
        self.batch_findings = batch_findings
        self.retry = retry
        self.sleep = sleep
        self.on_progress = on_progress
        self.rng = rng or random.Random()
        # Called whenever bytes move either way (a piece written, an answer read): a watchdog
        # tells "slow" from "stalled" by it.
        self.on_activity = on_activity
        # Checked before every request and between retries: a stopped sync sends nothing more.
        self.should_stop = should_stop

    # ---- the whole sync --------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Push everything pending, upload photos, pull changes; raise only when it cannot go on."""
        report = SyncReport()
        counts = self.store.pending_counts()
        # Items in the badge's units (PendingCounts.total): walks with their route, findings,
        # photos, answers. What is done is what no longer waits, so the two always agree.
        progress = Progress("push", total_items=counts.total, total_bytes=counts.photo_bytes)
        self._tell(progress)
        self._push_all(report, progress)
        progress.phase = "upload"
        for photo in self.store.photos_to_upload():
            try:
                sent = self._upload(photo, progress)
            except PhotoRefusedError as exc:
                self.store.refuse_photo(photo.sha256, exc.reason)
                report.refused.append(Refusal("photo", photo.sha256, exc.reason))
                continue
            except ServerRejectedError as exc:
                report.photo_errors.append((photo.sha256, str(exc)))
                continue
            report.photos_uploaded += 1
            report.bytes_uploaded += sent
            self._count_done(progress)
        progress.phase = "pull"
        report.changes_pulled = self.pull()
        report.remaining = self.store.pending_counts()
        now = model.utcnow().isoformat()
        self.store.set_meta(last_contact_at=now, last_sync_at=now if report.complete else None)
        progress.phase = "done"
        self._tell(progress)
        return report

    def push(
        self, report: SyncReport | None = None, progress: Progress | None = None
    ) -> SyncReport:
        """Push every pending record (no photo bytes); the receipts mark what arrived."""
        report = report or SyncReport()
        self._push_all(report, progress or Progress("push"))
        return report

    def _push_all(self, report: SyncReport, progress: Progress) -> None:
        previous: str | None = None
        while True:
            batch = self.store.outbox_batch(max_findings=self.batch_findings)
            if not (batch.walks or batch.findings or batch.events or batch.track):
                return
            body = batch.model_dump_json()
            if body == previous:  # nothing moved: a record the server keeps answering oddly
                raise ServerRejectedError("the server did not confirm the last batch; try later")
            previous = body
            r = self._post_batch(batch, report)
            if r.is_success:
                self._confirm(batch, r, report, progress)
            elif r.status_code in RECORD_REFUSALS and self._refusal_is_about_records(report):
                self._find_refused(batch, r, report, progress)
            else:
                raise ServerRejectedError(f"POST /v1/sync/push: {detail_of(r)}")

    def _post_batch(self, batch: model.PushRequest, report: SyncReport) -> httpx.Response:
        report.push_requests += 1
        return self._request(
            "POST",
            "/v1/sync/push",
            content=batch.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )

    def _confirm(
        self, batch: model.PushRequest, r: httpx.Response, report: SyncReport, progress: Progress
    ) -> None:
        receipt = model.PushReceipt.model_validate_json(r.content)
        self.store.apply_receipt(batch, receipt)
        for rec in receipt.records:
            if rec.result is model.RecordResult.CONFLICT:
                report.conflicts.append((rec.id, rec.detail))
            else:
                report.records_confirmed += 1
        self._count_done(progress)

    def _refusal_is_about_records(self, report: SyncReport) -> bool:
        """True when an empty batch is accepted: then a refused batch was refused for what it
        held. A refusal of the empty batch too (an unsupported protocol, a device not allowed to
        push) is about the device or the server, and setting records aside would be wrong."""
        return self._post_batch(model.PushRequest(), report).is_success

    def _find_refused(
        self,
        batch: model.PushRequest,
        refusal: httpx.Response,
        report: SyncReport,
        progress: Progress,
    ) -> None:
        """Halve a refused batch until each refused record stands alone, and set those aside;
        every half the server accepts is confirmed on the way (records are idempotent by id)."""
        items = _items(batch)
        if len(items) == 1:
            self._set_aside(batch, items[0], reason_of(refusal), report)
            return
        middle = len(items) // 2
        for half in (_batch_of(items[:middle]), _batch_of(items[middle:])):
            r = self._post_batch(half, report)
            if r.is_success:
                self._confirm(half, r, report, progress)
            elif r.status_code in RECORD_REFUSALS:
                self._find_refused(half, r, report, progress)
            else:
                raise ServerRejectedError(f"POST /v1/sync/push: {detail_of(r)}")

    def _set_aside(
        self, batch: model.PushRequest, item: _Item, reason: str, report: SyncReport
    ) -> None:
        kind, record = item
        self.store.refuse(batch, reason)
        if isinstance(record, model.TrackPoint):
            report.refused.append(Refusal("route", record.walk_id, reason))
        else:
            revision = record.revision if isinstance(record, model.Finding) else 1
            report.refused.append(Refusal(kind, record.id, reason, revision))

    def _count_done(self, progress: Progress) -> None:
        """Items done = what waited at the start and waits no more (never goes backwards)."""
        remaining = self.store.pending_counts().total
        done = min(progress.total_items, max(0, progress.total_items - remaining))
        progress.done_items = max(progress.done_items, done)
        self._tell(progress)

    def pull(self) -> int:
        """Fetch status changes of this device's findings since the stored cursor."""
        cursor = int(self.store.get_meta("pull_cursor") or 0)
        pulled = 0
        while True:
            r = self._call("GET", "/v1/sync/pull", params={"since": cursor, "limit": 500})
            answer = model.PullResponse.model_validate_json(r.content)
            self.store.apply_changes(answer.changes, answer.cursor)
            pulled += len(answer.changes)
            cursor = answer.cursor
            if not answer.more:
                return pulled

    def fetch_open(
        self,
        *,
        area: str | None = None,
        near: tuple[float, float] | None = None,
        radius_m: float = 500,
    ) -> list[model.OpenFinding]:
        """Open findings of an area (or around a point) from the server, kept on the device."""
        from walkaudit.remote import RemoteFindings

        params: dict[str, str | float] = {"limit": 2000}
        if area:
            params["area"] = area
        elif near:
            params.update(lat=near[0], lon=near[1], radius_m=radius_m)
        r = self._call("GET", "/v1/findings/open", params=params)
        items = model.OpenFindingsResponse.model_validate_json(r.content).findings
        RemoteFindings(self.store).save(items)
        return items

    def fetch_photo(self, sha256: str) -> bytes:
        """A stored photo from the server (metadata-free), e.g. of a finding to follow up."""
        return self._call("GET", f"/v1/photos/{sha256}").content

    def fetch_followups(self) -> list[model.FollowupSummary]:
        """The open follow-ups planned on the server, newest first (for the walker to choose)."""
        r = self._call("GET", "/v1/followups", params={"limit": 200})
        return model.FollowupsResponse.model_validate_json(r.content).followups

    def fetch_followup(
        self, *, followup_id: str | None = None, area: str | None = None
    ) -> list[model.OpenFinding]:
        """A follow-up's findings (by id, or by a typed name or area) with their holders'
        answers, kept on the device for the walk (walkaudit.remote)."""
        from walkaudit.remote import RemoteFindings

        params: dict[str, str | int] = {"answers": "true", "limit": 2000}
        if followup_id:
            params["followup"] = followup_id
        elif area:
            params["area"] = area
        r = self._call("GET", "/v1/findings/open", params=params)
        items = model.OpenFindingsResponse.model_validate_json(r.content).findings
        remote = RemoteFindings(self.store)
        remote.save_followup(followup_id or f"area:{(area or '').strip().lower()}", items)
        return items

    # ---- photos ----------------------------------------------------------------------------

    def _upload(self, photo: model.Photo, progress: Progress) -> int:
        """Send one photo from wherever the server's copy stops; returns bytes sent."""
        path = self.store.photo_path(photo.sha256)
        url = f"/v1/photos/{photo.sha256}"
        delays = self.retry.delays(self.rng)
        offset: int | None = None
        sent = 0
        counted = 0  # bytes of this photo already shown in the progress
        while True:
            try:
                if offset is None:
                    head = self._once("HEAD", url)
                    if head.headers.get("Photo-State") == "stored":
                        break
                    offset = int(head.headers.get("Upload-Offset", "0"))
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read(self.chunk_size)
                if not chunk:  # the server holds every byte but has not verified them yet
                    raise Transient(f"photo {photo.sha256[:12]} is still being verified")
                end = offset + len(chunk) - 1
                r = self._once(
                    "PUT",
                    url,
                    content=self._pieces(chunk),
                    headers={
                        "Content-Type": "application/octet-stream",
                        # Given explicitly, so the pieces go as one plain body, not chunked.
                        "Content-Length": str(len(chunk)),
                        "Content-Range": f"bytes {offset}-{end}/{photo.size}",
                    },
                )
                sent += len(chunk)
                if r.status_code in (200, 201):
                    break
                if r.status_code == 202:
                    offset = model.PhotoReceipt.model_validate_json(r.content).offset
                elif r.status_code == 409 and "Upload-Offset" in r.headers:
                    held = int(r.headers["Upload-Offset"])
                    if held == offset:  # no progress possible now: wait, never spin
                        raise Transient(f"photo {photo.sha256[:12]}: {detail_of(r)}")
                    offset = held
                elif r.status_code in PHOTO_REFUSALS:
                    raise PhotoRefusedError(
                        f"photo {photo.sha256[:12]}: {detail_of(r)}", reason_of(r)
                    )
                else:
                    raise ServerRejectedError(f"photo {photo.sha256[:12]}: {detail_of(r)}")
                progress.done_bytes += offset - counted
                counted = offset
                self._tell(progress)
            except FileNotFoundError:
                raise ServerRejectedError(
                    f"photo {photo.sha256[:12]} is missing from this device's photo folder"
                ) from None
            except (httpx.TransportError, Transient) as exc:
                delay = next(delays, None)
                if delay is None:
                    raise ServerUnreachableError(why(exc)) from exc
                self._pause(delay)
                offset = None  # ask the server where its copy stops
        progress.done_bytes += photo.size - counted
        self.store.mark_uploaded(photo.sha256)
        return sent

    def _pieces(self, chunk: bytes) -> Iterator[bytes]:
        """A chunk in pieces; each piece handed to the socket is activity (slow is not stalled)."""
        for start in range(0, len(chunk), PIECE_SIZE):
            if start:
                self._active()
            yield chunk[start : start + PIECE_SIZE]
        self._active()


_Item = tuple[str, model.Walk | model.Finding | model.FindingEvent | model.TrackPoint]


def _items(batch: model.PushRequest) -> list[_Item]:
    """A batch's records in the order they are stored: walks, findings, then what refers to them
    (answers about findings, route points), so a half never goes before what it needs."""
    return [
        *(("walk", w) for w in batch.walks),
        *(("finding", f) for f in batch.findings),
        *(("event", e) for e in batch.events),
        *(("track", p) for p in batch.track),
    ]


def _batch_of(items: list[_Item]) -> model.PushRequest:
    lists: dict[str, list[object]] = {"walk": [], "finding": [], "event": [], "track": []}
    for kind, record in items:
        lists[kind].append(record)
    return model.PushRequest.model_construct(
        protocol=model.PROTOCOL_VERSION,
        walks=lists["walk"],
        findings=lists["finding"],
        events=lists["event"],
        track=lists["track"],
    )
