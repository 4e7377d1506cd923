#!/usr/bin/env python3
"""A minimal app that speaks backup contract v1 (docs/contract-v1.md), restore included, with Python's
standard library only.

It keeps a small SQLite database of notes and backs it up as a consistent snapshot (SQLite's online
backup API), streamed in a chunked body whose SHA-256 follows the last chunk as an X-Backup-Sha256
trailer (written by hand: http.server has no trailer support), so the orchestrator verifies it end to end.
Capabilities say the app's version and schema version; GET /backup/selftest says whether the data it holds
works, so that a second instance can serve as a drill instance.
An import is written next to the database, checked (size, SHA-256, SQLite integrity) and only then
copied over the live data: a broken or aborted upload never touches it.
"""
import hashlib
import hmac
import json
import os
import pathlib
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = os.environ.get("BACKUP_TOKEN")
HOST = os.environ.get("HOST", "")  # every interface; 127.0.0.1 for this machine only
PORT = int(os.environ.get("PORT", "8000"))  # 0: any free port, printed at start
DATA_DIR = os.environ.get("DATA_DIR", "./data")
DB_PATH = os.path.join(DATA_DIR, "notes.db")
CHUNK = 64 * 1024
VERSION = "1.0.0"
# The database schema this code runs (kept in SQLite's user_version). Capabilities announce it, so the
# orchestrator refuses to restore a backup made by a newer version of the app into this one.
SCHEMA_VERSION = 1

# One export or import at a time: the next one is answered 409 (busy) rather than started. It waits a
# moment first: a request sent right after the previous one's last byte finds it still cleaning up.
busy = threading.Lock()
BUSY_WAIT_S = 1


def connect(path=DB_PATH, read_only=False):
    if read_only:  # an upload is only read while checked: opening it must not create or change it
        return closing(sqlite3.connect(pathlib.Path(path).resolve().as_uri() + "?mode=ro", uri=True))
    return closing(sqlite3.connect(path))


def create_database():
    os.makedirs(DATA_DIR, exist_ok=True)
    with connect() as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)")
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0:
            db.executemany("INSERT INTO notes (body, created_at) VALUES (?, datetime('now'))", [(f"demo note {i}",) for i in range(1, 101)])


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def selftest():
    """What a drill asks after a restore: does the data this instance now holds work? Read only."""
    with connect(read_only=True) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM notes").fetchone()[0]
        schema = db.execute("PRAGMA user_version").fetchone()[0]
    checks = [
        {"name": "integrity check", "ok": integrity == "ok", "detail": integrity},
        {"name": "rows in notes", "ok": rows > 0, "detail": f"{rows} rows"},
        {"name": "schema up to date", "ok": schema == SCHEMA_VERSION, "detail": f"schema version {schema}, this app runs {SCHEMA_VERSION}"},
    ]
    return {"ok": all(check["ok"] for check in checks), "checks": checks}


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: every body is framed (Content-Length, or chunked for the export). An HTTP/1.0 body without a length ends when the
    # connection closes, which the orchestrator refuses: a crash would look like the end of the backup.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/notes":
            with connect() as db:
                rows = db.execute("SELECT id, body, created_at FROM notes ORDER BY id").fetchall()
            return self.json(200, [{"id": i, "body": body, "created_at": at} for i, body, at in rows])
        if self.path == "/backup/capabilities":
            if self.authorized():
                app = {"name": "pynotes", "version": VERSION, "schemaVersion": str(SCHEMA_VERSION)}
                self.json(200, {"versions": ["v1"], "type": "sqlite", "extension": "db", "restore": True, "app": app})
            return
        if self.path == "/backup/selftest":
            if self.authorized():
                self.json(200, selftest())
            return
        self.not_found()

    def do_POST(self):
        if self.path == "/notes":
            with connect() as db, db:
                db.execute("INSERT INTO notes (body, created_at) VALUES ('a new note', datetime('now'))")
                count = db.execute("SELECT count(*) FROM notes").fetchone()[0]
            return self.json(201, {"count": count})
        if self.path in ("/backup/export", "/backup/import"):
            if self.authorized():
                self.export_backup() if self.path == "/backup/export" else self.import_backup()
            return
        self.not_found()

    def authorized(self):
        """Checks the bearer token in constant time; answers 401 itself when it is missing or wrong."""
        given = self.headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, f"Bearer {TOKEN}".encode()):
            return True
        self.discard_body()
        self.json(401, {"error": "missing or wrong bearer token"})
        return False

    def export_backup(self):
        try:
            version = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}").get("version")
        except (ValueError, AttributeError):
            version = None
        if version != "v1":
            return self.json(400, {"error": f"contract version {json.dumps(version)} is not supported; this app speaks v1"})
        if not busy.acquire(timeout=BUSY_WAIT_S):
            return self.json(409, {"error": "a backup or restore is already running"})
        try:
            with tempfile.TemporaryDirectory(dir=DATA_DIR, prefix=".export-") as folder:
                snapshot = os.path.join(folder, "notes.db")
                try:
                    with connect() as live, connect(snapshot) as copy:
                        live.backup(copy)  # a consistent copy while the app keeps writing
                except (OSError, sqlite3.Error) as error:
                    return self.json(500, {"error": f"could not snapshot the database: {error}"})
                # The checksum is computed as the bytes go out and sent after them, as an app that streams a
                # dump it cannot read twice (pg_dump | gzip) would: chunked framing, then the trailer.
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Trailer", "X-Backup-Sha256")
                self.send_header("Content-Disposition", 'attachment; filename="notes.db"')
                self.end_headers()
                digest = hashlib.sha256()
                try:
                    with open(snapshot, "rb") as file:
                        for chunk in iter(lambda: file.read(CHUNK), b""):
                            digest.update(chunk)
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    # The last chunk (size 0), the trailer field, and the blank line that ends the message.
                    self.wfile.write(b"0\r\nX-Backup-Sha256: %s\r\n\r\n" % digest.hexdigest().encode())
                except OSError:
                    # Failing after the headers: abort the connection, so the body never looks complete.
                    self.abort_connection()
        finally:
            busy.release()

    def import_backup(self):
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            return self.json(411, {"error": "Content-Length is required"})
        if not busy.acquire(timeout=BUSY_WAIT_S):
            self.discard_body()
            return self.json(409, {"error": "a backup or restore is already running"})
        try:
            with tempfile.TemporaryDirectory(dir=DATA_DIR, prefix=".import-") as folder:
                incoming = os.path.join(folder, "notes.db")
                if not self.receive(incoming, int(length)):
                    # The orchestrator aborted the upload (or the connection broke): the folder and what
                    # arrived are removed, the live data is untouched, and nobody is left to answer.
                    self.close_connection = True
                    return
                expected = self.headers.get("X-Backup-Sha256")
                if expected and sha256_file(incoming) != expected.lower():
                    return self.json(422, {"error": "SHA-256 does not match X-Backup-Sha256"})
                try:
                    with connect(incoming, read_only=True) as check:
                        ok = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                        ok = ok and check.execute("SELECT 1 FROM sqlite_master WHERE name = 'notes'").fetchone() is not None
                        schema = check.execute("PRAGMA user_version").fetchone()[0]
                except sqlite3.Error:
                    ok = False
                if not ok:
                    return self.json(422, {"error": "not a notes database"})
                if schema > SCHEMA_VERSION:
                    return self.json(422, {"error": f"schema version {schema} is newer than this app's {SCHEMA_VERSION}"})
                with connect(incoming) as source, connect() as live:
                    source.backup(live)  # replaces the live database in one step
                self.json(200, {"restored": True, "bytes": int(length)})
        finally:
            busy.release()

    def receive(self, path, length):
        """Writes exactly `length` bytes of the body to `path`; False when the body ended early."""
        with open(path, "wb") as file:
            while length > 0:
                try:
                    chunk = self.rfile.read(min(CHUNK, length))
                except OSError:
                    return False
                if not chunk:
                    return False
                file.write(chunk)
                length -= len(chunk)
        return True

    def discard_body(self):
        """Reads a body we refuse, so that the answer is not lost to a reset of a connection with unread data."""
        remaining = int(self.headers.get("Content-Length", 0))
        while remaining > 0:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def abort_connection(self):
        """Resets the connection (SO_LINGER 0): the orchestrator sees a broken body, never a complete one."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self):
        self.discard_body()
        self.json(404, {"error": "not found"})

    def log_request(self, code="-", size="-"):
        # The orchestrator names its run: the app's log can say which run asked.
        run = self.headers.get("X-Backup-Run-Id", "-") if self.headers else "-"
        self.log_message('"%s" %s run=%s', self.requestline, code, run)


def main():
    if not TOKEN:
        sys.exit('BACKUP_TOKEN must be set: the orchestrator sends it as "Authorization: Bearer <token>"')
    create_database()
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    print(f"notes app on port {server.server_address[1]}, contract v1 at /backup/*", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
