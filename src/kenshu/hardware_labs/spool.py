"""A first-in, first-out message spool in a SQLite file.

The MQTT bridge writes every reading here before publishing it and deletes
it only when the broker has acknowledged it (QoS 1 PUBACK), so readings
survive a broker outage and a restart of the bridge itself. Row ids come from
``AUTOINCREMENT`` and are never reused, which makes them usable as message ids.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    body TEXT NOT NULL
)
"""


class Spool:
    """Messages waiting for a broker acknowledgement, oldest first.

    Safe to use from several threads: one connection guarded by a lock.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # WAL with synchronous=NORMAL survives a crash of this process; only a
        # power cut can lose the last transactions.
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(SCHEMA)
        self._count = int(self._connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        logger.info("message spool %s contains %d message(s)", self.path, self.count())

    def append(self, topic: str, body: str) -> int:
        """Store one message and return its id."""
        with self._lock:
            cursor = self._connection.execute("INSERT INTO messages (topic, body) VALUES (?, ?)", (topic, body))
            self._count += 1
            return int(cursor.lastrowid)

    def extend(self, messages: list[tuple[str, str]]) -> list[int]:
        """Store (topic, body) messages in one transaction and return their ids, in order."""
        if not messages:
            return []
        with self._lock:
            # BEGIN IMMEDIATE takes the write lock, and this object is the only
            # writer, so AUTOINCREMENT hands out consecutive ids ending at the last rowid.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany("INSERT INTO messages (topic, body) VALUES (?, ?)", messages)
                last = int(self._connection.execute("SELECT last_insert_rowid()").fetchone()[0])
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            self._count += len(messages)
        return list(range(last - len(messages) + 1, last + 1))

    def pending(self, *, after_id: int = 0, limit: int = 500) -> list[tuple[int, str, str]]:
        """Return up to *limit* messages (id, topic, body) with id greater than *after_id*, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT id, topic, body FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        return [(int(row[0]), row[1], row[2]) for row in rows]

    def delete(self, ids: Iterable[int]) -> None:
        """Remove the acknowledged messages *ids* in one transaction."""
        ranges = _id_ranges(ids)
        if not ranges:
            return
        with self._lock:
            # Acknowledgements mostly arrive in publishing order, so a batch of
            # ids collapses into a few ranges, each deleted by one statement.
            self._connection.execute("BEGIN")
            cursor = self._connection.executemany("DELETE FROM messages WHERE id BETWEEN ? AND ?", ranges)
            self._connection.execute("COMMIT")
            self._count -= cursor.rowcount

    def last_id(self) -> int:
        """Return the id of the newest message in the spool, or 0 when it is empty."""
        with self._lock:
            row = self._connection.execute("SELECT MAX(id) FROM messages").fetchone()
        return int(row[0] or 0)

    def count(self) -> int:
        """Return the number of messages not yet acknowledged (kept in memory; COUNT(*) scans the table)."""
        return self._count

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._connection.close()


def _id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Return the sorted distinct *ids* as (first, last) runs of consecutive numbers."""
    ranges: list[tuple[int, int]] = []
    for message_id in sorted(set(ids)):
        if ranges and message_id == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], message_id)
        else:
            ranges.append((message_id, message_id))
    return ranges
