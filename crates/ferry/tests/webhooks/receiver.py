"""A webhook receiver for ferry's tests: checks each delivery's signature
with the `standardwebhooks` package (an implementation of the Standard
Webhooks specification independent of ferry's), and writes one JSON line per
request to LOG: its webhook-id, whether the signature verified, the status it
answered, when it arrived, and the body.

Usage: receiver.py PORT SECRET_FILE LOG [--fail-first N]
With --fail-first N it answers 503 to the first N attempts of each message.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as error:  # the test reads this and fails with it
    print(f"the standardwebhooks package is missing ({error}): pip install standardwebhooks", flush=True)
    sys.exit(3)

port = int(sys.argv[1])
secret = open(sys.argv[2]).read().strip()
log_path = sys.argv[3]
fail_first = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--fail-first" else 0
verifier = Webhook(secret)
attempts = {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        message_id = headers.get("webhook-id", "")
        try:
            verifier.verify(body, headers)
            verified = True
        except WebhookVerificationError as error:
            verified = str(error) or "invalid"
        attempts[message_id] = attempts.get(message_id, 0) + 1
        status = 503 if attempts[message_id] <= fail_first else (204 if verified is True else 400)
        record = {
            "id": message_id,
            "verified": verified,
            "status": status,
            "at": time.time(),
            "content_type": headers.get("content-type"),
            "body": json.loads(body) if body else None,
        }
        with open(log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening", flush=True)
server.serve_forever()
