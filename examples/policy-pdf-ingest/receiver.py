#!/usr/bin/env python3
"""The application's webhook endpoint for this example: verifies Sluice-Signature, prints each event.

    SLUICE_WEBHOOK_SECRET=change-me-policy-webhook-secret python3 receiver.py [port]

Listens on 127.0.0.1:<port> (8000) at /hooks/sluice, the URL sluice.yaml's webhooks.urls names. Answers 204 to a
request whose signature verifies (Sluice marks the delivery delivered), 401 otherwise (Sluice retries it later).
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("SLUICE_WEBHOOK_SECRET", "change-me-policy-webhook-secret").encode()


def verify(secret: bytes, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>, on the raw body."""
    fields = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    t, signature = fields.get("t", ""), fields.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
        return False  # missing, or too old: a replay
    expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/hooks/sluice":
            self.send_response(404)
            self.end_headers()
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(SECRET, self.headers.get("Sluice-Signature"), body):
            print("REFUSED: bad or old signature", file=sys.stderr)
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)  # parse only after verifying
        data = event["data"]
        if event["type"] == "job.succeeded":
            job = data["job"]
            # Here the application would fetch job["outputUrl"] and embed each chunk with its pages.
            print(f"{event['type']}: job {job['id']} of upload {job['uploadId']}: {job.get('result')} "
                  f"-> chunks at {job['outputUrl']}")
        elif event["type"] == "upload.completed":
            print(f"{event['type']}: {data['upload']['filename']} sha256 {data['upload']['sha256']}")
        else:
            print(f"{event['type']}: {json.dumps(data)[:200]}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass  # one line per event above is enough


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"listening on http://127.0.0.1:{port}/hooks/sluice")
    HTTPServer(("127.0.0.1", port), Hook).serve_forever()
