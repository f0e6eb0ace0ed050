"""An SMTP server for ferry's tests, made with aiosmtpd: takes every
message, and writes each to DIR as N.eml (the bytes received) and N.json
(the envelope, and the message as Python's `email` package reads it: its
headers, its content type, and the text of its plain and HTML parts).

Usage: smtp_sink.py PORT DIR
Prints "listening" once it accepts connections.
"""
import email
import email.policy
import json
import os
import sys
import time

try:
    from aiosmtpd.controller import Controller
except ImportError as error:  # the test reads this and fails with it
    print(f"the aiosmtpd package is missing ({error}): pip install aiosmtpd", flush=True)
    sys.exit(3)

port = int(sys.argv[1])
directory = sys.argv[2]
os.makedirs(directory, exist_ok=True)


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "at": time.time(),
        }
        name = os.path.join(directory, str(self.count))
        with open(name + ".eml", "wb") as out:
            out.write(raw)
        # Written whole, then renamed: a reader never sees half of it.
        with open(name + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(name + ".tmp", name + ".json")
        return "250 OK"


controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print("listening", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
