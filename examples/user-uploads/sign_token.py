"""Signs a Sluice upload token (an HS256 JWT) with the Python standard library only.

    python3 examples/user-uploads/sign_token.py alice            # prints a token valid for 15 minutes

JWT_SECRET must equal Sluice's auth.jwt.hmacSecret (the example's sluice.yaml uses the default below).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_token(secret: str, subject: str, claims: dict | None = None, lifetime: int = 15 * 60) -> str:
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": subject, "iat": now, "exp": now + lifetime,
                                 "sluice": claims or {}}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


if __name__ == "__main__":
    secret = os.environ.get("JWT_SECRET", "example-only-jwt-secret-change-me-0123456789")
    print(sign_token(secret, sys.argv[1] if len(sys.argv) > 1 else "alice", {"maxFileSize": "50MiB"}))
