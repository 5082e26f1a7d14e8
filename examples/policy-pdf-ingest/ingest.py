#!/usr/bin/env python3
"""Upload one policy PDF to Sluice the presigned way: presign -> PUT -> complete (Python 3 stdlib only).

    python3 ingest.py policy.pdf [--server http://127.0.0.1:8080] [--api-key KEY] [--wait]

1. POST /api/v1/uploads/presign {"filename", "size", "contentType"}  -> {"uploadId", "url", "method", "headers"}
2. <method> <url> with exactly <headers> and the file as the body. With local storage the URL is Sluice's own
   (PUT /api/v1/presigned/<id>?expires=&signature=); with S3 it is the bucket's presigned URL and the bytes never
   pass through Sluice.
3. POST /api/v1/uploads/<id>/complete -> the upload record (sha256, job). Idempotent, so it is sent in both cases:
   after a local PUT it answers the record the PUT already made.
With --wait it then polls GET /api/v1/jobs/<job id> and prints progress, stage and ETA until the job ends, and
prints the first chunk of the output (GET /api/v1/jobs/<job id>/output?limit=1).
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(method, url, body=None, headers=None, api_key=None):
    headers = dict(headers or {})
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--server", default=os.environ.get("SLUICE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("SLUICE_API_KEY"))
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends")
    args = parser.parse_args()
    server = args.server.rstrip("/")
    size = os.path.getsize(args.file)

    # 1. presign
    status, body = call("POST", server + "/api/v1/uploads/presign",
                        json.dumps({"filename": os.path.basename(args.file), "size": size,
                                    "contentType": "application/pdf"}).encode(),
                        {"Content-Type": "application/json"}, args.api_key)
    if status != 201:
        sys.exit(f"presign refused: {status} {body.decode(errors='replace')}")
    presigned = json.loads(body)
    upload_id = presigned["uploadId"]
    print(f"presigned {upload_id}: {presigned['method']} {presigned['url'].split('?')[0]} "
          f"until {presigned['expiresAt']}")

    # 2. the PUT, exactly as signed (no API key: the URL is the authorization)
    with open(args.file, "rb") as f:
        status, body = call(presigned["method"], presigned["url"], f.read(), presigned["headers"])
    if status not in (200, 201):
        sys.exit(f"PUT refused: {status} {body.decode(errors='replace')}")
    print(f"PUT answered {status}")

    # 3. complete
    status, body = call("POST", f"{server}/api/v1/uploads/{upload_id}/complete", b"", None, args.api_key)
    if status != 200:
        sys.exit(f"complete refused: {status} {body.decode(errors='replace')}")
    upload = json.loads(body)
    job = upload.get("job")
    print(f"uploaded {upload['filename']}: {upload['size']} bytes, sha256 {upload['sha256']}, "
          f"job {job['id'] if job else '(none)'}")
    if not (args.wait and job):
        return

    last = None
    while True:
        status, body = call("GET", f"{server}/api/v1/jobs/{job['id']}", None, None, args.api_key)
        state = json.loads(body)
        line = (state["state"], state.get("progress"), state.get("stage"), state.get("etaSeconds"))
        if line != last:
            print(f"  {state['state']:9} {state.get('progress', 0):3}%  {state.get('stage', ''):20} "
                  f"eta {state.get('etaSeconds', '-')} s")
            last = line
        if state["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    if state["state"] != "succeeded":
        sys.exit(f"job {state['state']}: {state.get('error')}")
    print(f"result: {json.dumps(state.get('result'))}")
    status, body = call("GET", f"{server}/api/v1/jobs/{job['id']}/output?limit=1", None, None, args.api_key)
    first = json.loads(body.decode().splitlines()[0])
    print(f"first chunk: pages {first['pageStart']}-{first['pageEnd']}, {first['chars']} chars: "
          f"{first['text'][:60]!r}...")


if __name__ == "__main__":
    main()
