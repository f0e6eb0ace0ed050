"""A stand-in for Slack in ferry's tests: its Web API's `users.info`
(answering from USERS, a JSON file mapping user ids to e-mails; a user
mapped to null has no e-mail, one missing is `user_not_found`), and the
`response_url` where Slack takes the answer to a click (POST /response/...).
Every request is one JSON line in LOG: method, path, query, Authorization
header, and the body (as JSON when it is).

Usage: slack_api.py PORT USERS LOG
Prints "listening" once it accepts connections.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port = int(sys.argv[1])
users = json.load(open(sys.argv[2]))
log_path = sys.argv[3]


def log(record):
    with open(log_path, "a") as out:
        out.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        log({"method": "GET", "path": url.path, "query": query,
             "authorization": self.headers.get("authorization"), "at": time.time()})
        if url.path != "/api/users.info":
            return self.answer(404, {"ok": False, "error": "unknown_method"})
        user = query.get("user", [""])[0]
        if user not in users:
            return self.answer(200, {"ok": False, "error": "user_not_found"})
        profile = {} if users[user] is None else {"email": users[user]}
        self.answer(200, {"ok": True, "user": {"id": user, "profile": profile}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        log({"method": "POST", "path": self.path, "body": parsed,
             "authorization": self.headers.get("authorization"), "at": time.time()})
        self.answer(200, {"ok": True})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening", flush=True)
server.serve_forever()
