#!/usr/bin/env python3
"""A stand-in for Twilio's Messages API on 127.0.0.1, for the drain benchmark (drain.sh): it
answers every POST .../Messages.json with 201 and a Twilio-shaped body ({"sid": "SM…"}) at
once, keeps connections alive, and counts what it received. Prints "listening PORT" when
ready; GET /count answers the number of messages received so far.
Usage: twilio_standin.py [PORT=0]"""
import http.server
import itertools
import json
import sys
import threading

counter = itertools.count(1)
received = 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global received
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with lock:
            received += 1
        self._answer(201, {"sid": "SM%032x" % next(counter), "status": "queued"})

    def do_GET(self):
        with lock:
            n = received
        self._answer(200, {"received": n})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


main()
