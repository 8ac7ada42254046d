"""Session rules for one device: which session an event joins, and when
session_start, session_end and the session record are emitted.

All of one device's state is one value (`DeviceState`), so a batch changes it
with one table write; the caller writes it only after the batch's outputs are
confirmed by Kafka (see `streams.processor`). `offset` is the highest raw
offset already applied, so replaying a batch after a crash skips what the
state already holds.

Time: `now` for the live/historical decision is the event's `received_at_ms`
(the ingress's clock when it accepted the event, which is also what it used to
predict the session id); ticks carry the worker's wall clock for session ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

from streams import records
from trackflow import sessionid

Session = dict[str, Any]
Emit = Callable[[str, str, records.Record], None]
"""emit(kind, key, record): kind is `events` or `sessions`."""

SCREEN_VIEW = "screen_view"

# A historical session's session_start waits until no event has reached the
# session for this long (worker's clock), so that every batch of one upload,
# in whatever order, counts towards its first event. A later event with an
# earlier time still moves the session record's start; the session_start
# already emitted stays as it was.
START_DELAY_MS = int(float(os.environ.get("TRACKFLOW_HISTORICAL_START_DELAY_S", "30")) * 1000)


class DeviceState:
    """Sessions of one device (within the historical window) and its live session."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.changed: set[str] = set()
        self._arrived_ms = 0

    @classmethod
    def new(cls, project_id: str, device_id: str, partition: int) -> DeviceState:
        return cls(
            {
                "project_id": project_id,
                "device_id": device_id,
                "partition": partition,
                "offset": -1,
                "live": None,
                "prev_live": None,
                "sessions": {},
            }
        )

    @classmethod
    def loads(cls, value: bytes) -> DeviceState:
        return cls(orjson.loads(value))

    def dumps(self) -> bytes:
        return orjson.dumps(self.data)

    @property
    def project_id(self) -> str:
        return str(self.data["project_id"])

    @property
    def device_id(self) -> str:
        return str(self.data["device_id"])

    @property
    def partition(self) -> int:
        return int(self.data["partition"])

    @property
    def offset(self) -> int:
        return int(self.data["offset"])

    @property
    def sessions(self) -> dict[str, Session]:
        sessions: dict[str, Session] = self.data["sessions"]
        return sessions

    @property
    def live_id(self) -> str | None:
        live: str | None = self.data["live"]
        return live

    def live_session(self) -> Session | None:
        live = self.live_id
        if live is None:
            return None
        session = self.sessions.get(live)
        if session is None or session["ended"]:
            return None
        return session

    def is_empty(self) -> bool:
        return not self.sessions and self.live_id is None

    # -- events ---------------------------------------------------------------

    def apply_track(
        self, raw: records.RawEvent, offset: int, emit: Emit, arrived_ms: int | None = None
    ) -> None:
        """Put one track event into its session and emit it with the session id.

        `arrived_ms` is the worker's clock when the event reached it (default:
        when the ingress received it); session ends count inactivity from it,
        so a worker catching up on a backlog does not end sessions whose next
        events are still queued behind.
        """
        self._arrived_ms = arrived_ms if arrived_ms is not None else raw["received_at_ms"]
        session = self._session_for(raw, emit)
        emit(
            "events",
            f"{self.project_id}:{self.device_id}",
            records.sessionized_event(raw, session["id"]),
        )
        self.data["offset"] = max(self.offset, offset)

    def session_id_for_replay(self, raw: records.RawEvent) -> str:
        given = raw["replay"].get("session_id")
        if isinstance(given, str) and given:
            return given
        live = self.live_session()
        if live is not None:
            return str(live["id"])
        return sessionid.session_id(
            self.project_id, self.device_id, raw["event_time_ms"], raw["session_timeout_ms"]
        )

    def _session_for(self, raw: records.RawEvent, emit: Emit) -> Session:
        timeout_ms: int = raw["session_timeout_ms"]
        event_ms: int = raw["event_time_ms"]
        if raw["received_at_ms"] - event_ms > timeout_ms:
            return self._join_historical(raw)

        live = self.live_session()
        if live is not None and live["last_ms"] - timeout_ms <= event_ms:
            if event_ms <= live["last_ms"] + timeout_ms:
                self._join(live, raw, moves_end=True)
                return live
        elif live is not None:
            # Live by the clock, but older than the live session allows: it
            # belongs to the past, so it takes its bucket like a historical one.
            return self._join_historical(raw)

        if live is not None:
            self._end(live, emit)
        return self._start_live(raw, previous=live)

    def _start_live(self, raw: records.RawEvent, previous: Session | None) -> Session:
        timeout_ms: int = raw["session_timeout_ms"]
        bucket = sessionid.bucket_of(raw["event_time_ms"], timeout_ms)
        session_id = sessionid.session_id_for_bucket(self.project_id, self.device_id, bucket)
        previous_id = self.data["live"] or self.data["prev_live"]
        if previous is not None:
            previous_id = previous["id"]
        if session_id == previous_id:
            bucket += 1
            session_id = sessionid.session_id_for_bucket(self.project_id, self.device_id, bucket)

        session = self.sessions.get(session_id)
        if previous_id is not None:
            self.data["prev_live"] = previous_id
        self.data["live"] = session_id
        if session is None:
            session = self._new_session(session_id, "live", bucket, raw)
        else:
            self._join(session, raw, moves_end=True)
        return session

    def _join_historical(self, raw: records.RawEvent) -> Session:
        timeout_ms: int = raw["session_timeout_ms"]
        bucket = sessionid.bucket_of(raw["event_time_ms"], timeout_ms)
        session_id = sessionid.session_id_for_bucket(self.project_id, self.device_id, bucket)
        session = self.sessions.get(session_id)
        if session is None:
            return self._new_session(session_id, "historical", bucket, raw)
        # A historical event may widen a live session's start, never its end.
        self._join(session, raw, moves_end=session_id != self.live_id)
        return session

    def _new_session(
        self, session_id: str, kind: str, bucket: int, raw: records.RawEvent
    ) -> Session:
        event_ms: int = raw["event_time_ms"]
        path = raw.get("path")
        session: Session = {
            "id": session_id,
            "kind": kind,
            "bucket": bucket,
            "timeout_ms": raw["session_timeout_ms"],
            "window_ms": raw["window_ms"],
            "started_at_ms": event_ms,
            "last_ms": event_ms,
            "arrived_ms": self._arrived_ms,
            "event_count": 1,
            "screen_view_count": 1 if raw.get("name") == SCREEN_VIEW else 0,
            "entry_path": path,
            "exit_path": path,
            "entry_origin": raw.get("url_origin"),
            "referrer": raw.get("referrer"),
            "profile_id": raw.get("profile_id"),
            "first": records.snapshot(raw),
            "started": False,
            "ended": False,
            "version": 1,
        }
        self.sessions[session_id] = session
        self.changed.add(session_id)
        return session

    def _join(self, session: Session, raw: records.RawEvent, moves_end: bool) -> None:
        event_ms: int = raw["event_time_ms"]
        session["event_count"] += 1
        if raw.get("name") == SCREEN_VIEW:
            session["screen_view_count"] += 1
        if raw.get("profile_id") is not None:
            session["profile_id"] = raw["profile_id"]
        if event_ms < session["started_at_ms"]:
            session["started_at_ms"] = event_ms
            session["entry_path"] = raw.get("path")
            session["entry_origin"] = raw.get("url_origin")
            session["referrer"] = raw.get("referrer")
            if not session["started"]:
                session["first"] = records.snapshot(raw)
        if moves_end:
            if event_ms >= session["last_ms"]:
                session["last_ms"] = event_ms
                session["exit_path"] = raw.get("path")
            session["arrived_ms"] = max(session["arrived_ms"], self._arrived_ms)
        session["version"] += 1
        self.changed.add(session["id"])

    # -- session_start / session_end --------------------------------------------

    def finish_batch(self, emit: Emit) -> None:
        """Emit the live session's pending session_start and every changed record.

        A live session's session_start waits until the end of the batch that
        created it, so that events of one batch in any order give the same
        start; a historical session's waits `START_DELAY_MS` after the last
        event that reached it, or until its end (see `tick`).
        """
        live = self.live_session()
        if live is not None and not live["started"]:
            self._emit_start(live, emit)
        for session_id in sorted(self.changed):
            session = self.sessions.get(session_id)
            if session is not None:
                emit("sessions", f"{self.project_id}:{session_id}", self._record(session))
        self.changed.clear()

    def tick(self, now_ms: int, emit: Emit) -> None:
        """End the sessions whose time is over and forget those past the window."""
        for session in list(self.sessions.values()):
            if session["ended"]:
                if now_ms > self._expiry_ms(session):
                    del self.sessions[session["id"]]
                    self.changed.discard(session["id"])
                elif session["id"] == self.live_id and now_ms >= self._end_due_ms(session):
                    self._drop_live()
            elif now_ms >= self._end_due_ms(session):
                self._end(session, emit)
                if session["id"] == self.live_id:
                    self._drop_live()
            elif not session["started"] and now_ms >= self._start_due_ms(session):
                self._emit_start(session, emit)
        self.finish_batch(emit)

    def next_due_ms(self) -> int | None:
        """When `tick` next has something to do for this device."""
        dues = [
            self._expiry_ms(s) + 1 if s["ended"] else self._end_due_ms(s)
            for s in self.sessions.values()
        ]
        dues += [
            self._start_due_ms(s)
            for s in self.sessions.values()
            if not s["started"] and not s["ended"]
        ]
        return min(dues) if dues else None

    def _drop_live(self) -> None:
        self.data["prev_live"] = self.data["live"]
        self.data["live"] = None

    def _end_due_ms(self, session: Session) -> int:
        timeout_ms: int = session["timeout_ms"]
        if session["id"] == self.live_id or session["kind"] == "live":
            return int(max(session["last_ms"], session["arrived_ms"])) + timeout_ms
        bucket_end_ms = (session["bucket"] + 1) * timeout_ms + sessionid.grace_ms(timeout_ms)
        return max(int(bucket_end_ms), int(session["arrived_ms"]) + timeout_ms)

    @staticmethod
    def _start_due_ms(session: Session) -> int:
        return int(session["arrived_ms"]) + START_DELAY_MS

    @staticmethod
    def _expiry_ms(session: Session) -> int:
        return int(session["last_ms"] + session["window_ms"] + session["timeout_ms"])

    def _end(self, session: Session, emit: Emit) -> None:
        if not session["started"]:
            self._emit_start(session, emit)
        snap = session["first"]
        emit(
            "events",
            f"{self.project_id}:{self.device_id}",
            records.session_event(
                name="session_end",
                project_id=self.project_id,
                device_id=self.device_id,
                session_id=session["id"],
                event_time_ms=session["last_ms"] + records.SESSION_END_OFFSET_MS,
                snap={**snap, "profile_id": session["profile_id"]},
                path=session["exit_path"],
            )
            | {
                "duration_ms": _duration_ms(session),
                "is_bounce": session["screen_view_count"] <= 1,
            },
        )
        session["ended"] = True
        session["version"] += 1
        self.changed.add(session["id"])

    def _emit_start(self, session: Session, emit: Emit) -> None:
        snap = session["first"]
        emit(
            "events",
            f"{self.project_id}:{self.device_id}",
            records.session_event(
                name="session_start",
                project_id=self.project_id,
                device_id=self.device_id,
                session_id=session["id"],
                event_time_ms=session["started_at_ms"] + records.SESSION_START_OFFSET_MS,
                snap=snap,
                path=session["entry_path"],
            ),
        )
        session["started"] = True
        session["version"] += 1
        self.changed.add(session["id"])

    def _record(self, session: Session) -> records.Record:
        snap = session["first"]
        return {
            "v": 1,
            "id": session["id"],
            "project_id": self.project_id,
            "device_id": self.device_id,
            "profile_id": session["profile_id"],
            "kind": session["kind"],
            "started_at_ms": session["started_at_ms"],
            "last_event_ms": session["last_ms"],
            "duration_ms": _duration_ms(session),
            "event_count": session["event_count"],
            "screen_view_count": session["screen_view_count"],
            "entry_path": session["entry_path"],
            "exit_path": session["exit_path"],
            "entry_origin": session["entry_origin"],
            "referrer": session["referrer"],
            "is_bounce": session["screen_view_count"] <= 1,
            "ended": session["ended"],
            "user_agent": snap.get("user_agent"),
            "ip": snap.get("ip"),
            "ua_overrides": snap.get("ua_overrides") or {},
            "version": session["version"],
        }


def _duration_ms(session: Session) -> int:
    return max(0, int(session["last_ms"] - session["started_at_ms"]))
