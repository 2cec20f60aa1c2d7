"""Peak memory of the portal's upload receiver against two usual ways, on the same body.

    python -m bench.bench_portal_upload [--mib 64,256]

Each way runs in its own uvicorn server process (so its peak RSS, ``VmHWM``, is its own)
and receives one multipart upload of N MiB, streamed by the client in 1 MiB chunks:

* ``portal`` — :func:`islandbridge.portal.receive.receive_upload` (streamed to disk, capped);
* ``form`` — Starlette's ``request.form()`` (spools each file to a temporary file);
* ``body`` — ``await request.body()`` then parse (the whole body in memory).

Prints one Markdown table row per (way, size): server peak RSS, RSS growth over the idle
server, and wall time of the upload.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHUNK = 1 << 20
_BOUNDARY = "benchboundary"


def _app(way: str, folder: Path):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from islandbridge.portal.receive import receive_upload

    async def upload(request):
        if way == "portal":
            got = await receive_upload(
                request, folder, max_file_bytes=1 << 40, max_manifest_bytes=1 << 16,
                csrf_ok=lambda token: token == "t",
            )  # fmt: skip
            size = got.files["export"].size
        elif way == "form":
            form = await request.form()
            size = form["export"].size
            await form.close()
        else:
            body = await request.body()
            size = len(body)
        return JSONResponse({"size": size})

    async def status(request):
        fields = dict(
            line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
        )
        return JSONResponse({k: int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS")})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/mem", status)])


def _serve(way: str, port: int) -> None:
    import uvicorn

    folder = Path(tempfile.mkdtemp(prefix="bench_portal_"))
    uvicorn.run(_app(way, folder), host="127.0.0.1", port=port, log_level="warning")


def _body(mib: int):
    yield (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nt\r\n'
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="export"; filename="x.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n"
    ).encode()
    block = (b"a,b,c,d\r\n" * (_CHUNK // 9 + 1))[:_CHUNK]
    for _ in range(mib):
        yield block
    yield f"\r\n--{_BOUNDARY}--\r\n".encode()


def _measure(way: str, mib: int) -> dict:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_portal_upload", "--serve", way, str(port)]
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                idle = httpx.get(f"{base}/mem").json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        started = time.perf_counter()
        response = httpx.post(
            f"{base}/upload",
            content=_body(mib),
            headers={"content-type": f"multipart/form-data; boundary={_BOUNDARY}"},
            timeout=600,
        )
        wall = time.perf_counter() - started
        assert response.status_code == 200, response.text
        after = httpx.get(f"{base}/mem").json()
    finally:
        child.terminate()
        child.wait(10)
    return {
        "way": way,
        "mib": mib,
        "peak_rss_mib": after["VmHWM"],
        "growth_mib": after["VmHWM"] - idle["VmHWM"],
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", default="64,256")
    parser.add_argument("--serve", nargs=2)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]))
        return
    print(f"load: {os.getloadavg()}")
    print("| way | upload (MiB) | server peak RSS (MiB) | growth over idle (MiB) | wall (s) |")
    print("|---|---:|---:|---:|---:|")
    for mib in (int(m) for m in args.mib.split(",")):
        for way in ("portal", "form", "body"):
            r = _measure(way, mib)
            print(
                f"| {r['way']} | {mib} | {r['peak_rss_mib']} | {r['growth_mib']} | {r['wall_s']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
