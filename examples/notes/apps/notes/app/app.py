"""Notes: a JSON API kept in PostgreSQL, with a page-view counter in Redis.

GET /        the notes, the app's version and the view count
POST /notes  a note (the request body, as text)
GET /health  200 when PostgreSQL and Redis both answer
"""
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

VERSION = "1"


def connect():
    with open(os.environ["DATABASE_PASSWORD_FILE"]) as f:
        password = f.read().strip()
    return psycopg2.connect(
        host=os.environ.get("DATABASE_HOST", "db"),
        dbname=os.environ.get("DATABASE_NAME", "notes"),
        user=os.environ.get("DATABASE_USER", "notes"),
        password=password,
        connect_timeout=3,
    )


cache = redis.Redis(host=os.environ.get("REDIS_HOST", "cache"), socket_timeout=3)


def migrate():
    for attempt in range(30):
        try:
            with connect() as conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL, created timestamptz NOT NULL DEFAULT now())")
            return
        except psycopg2.OperationalError:
            if attempt == 29:
                raise
            time.sleep(1)


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            connect().close()
            cache.ping()
            return self.reply(200, {"ok": True})
        if self.path != "/":
            return self.reply(404, {"error": "not found"})
        with connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT text FROM notes ORDER BY id")
            notes = [row[0] for row in cur.fetchall()]
        self.reply(200, {"version": VERSION, "notes": notes, "views": cache.incr("views")})

    def do_POST(self):
        if self.path != "/notes":
            return self.reply(404, {"error": "not found"})
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with connect() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,))
            note = cur.fetchone()[0]
        self.reply(201, {"id": note})

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    migrate()
    print(f"notes {VERSION} listening on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
