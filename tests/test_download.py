"""fgclep download against a real HTTP server on 127.0.0.1 (Range support written here)."""
from __future__ import annotations

import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fgclep.data.download import download, parse_sha256sums


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from `server.files` (path -> bytes), honouring `Range: bytes=N-`."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        self.server.requests.append((rel, self.headers.get("Range")))
        data = self.server.files.get(rel)
        if data is None:
            self.send_error(404)
            return
        start, status = 0, 200
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def mirror():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
    server.files, server.requests = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/files/ludb/1.0.1/"
    server.shutdown()
    server.server_close()


def _publish(server, files: dict[str, bytes], corrupt: dict[str, bytes] = {}):
    """Serve `files` under the mirror prefix with a SHA256SUMS.txt of the true contents;
    `corrupt` replaces what is served for some paths (their listed hash stays the true one)."""
    lines = [f"{hashlib.sha256(b).hexdigest()}  {p}" for p, b in files.items()]
    server.files.clear()
    for p, b in {**files, **corrupt}.items():
        server.files[f"files/ludb/1.0.1/{p}"] = b
    server.files["files/ludb/1.0.1/SHA256SUMS.txt"] = ("\n".join(lines) + "\n").encode()


FILES = {"RECORDS": b"1\n2\n", "data/1.hea": b"1 12 500 5000\n" * 50,
         "data/1.dat": bytes(range(256)) * 400, "data/2.dat": b"\x01\x02" * 3000}


def test_download_resume_verify_and_skip(mirror, tmp_path):
    server, url = mirror
    _publish(server, FILES)
    dest = tmp_path / "ludb"
    (dest / "data").mkdir(parents=True)
    # A partial download from an earlier run: resumed with a Range request.
    (dest / "data" / "1.dat.part").write_bytes(FILES["data/1.dat"][:40000])
    # A complete-looking but wrong local file: re-fetched.
    (dest / "data" / "2.dat").write_bytes(b"\x00" * 6000)
    res = download("ludb", dest, base_url=url, workers=3, progress=False)
    assert not res.failed and sorted(res.downloaded) == sorted(FILES)
    for rel, data in FILES.items():
        assert (dest / rel).read_bytes() == data
    assert ("files/ludb/1.0.1/data/1.dat", "bytes=40000-") in server.requests
    assert not list(dest.rglob("*.part"))
    server.requests.clear()
    again = download("ludb", dest, base_url=url, workers=2, progress=False)
    assert sorted(again.skipped) == sorted(FILES) and not again.downloaded
    assert [r for r, _ in server.requests] == ["files/ludb/1.0.1/SHA256SUMS.txt"]


def test_corrupted_file_on_the_server_is_reported(mirror, tmp_path):
    server, url = mirror
    _publish(server, FILES, corrupt={"data/2.dat": b"\x09" * 6000})
    res = download("ludb", tmp_path / "d", base_url=url, workers=2, progress=False)
    assert list(res.failed) == ["data/2.dat"]
    assert "sha256 mismatch after re-download" in res.failed["data/2.dat"]
    assert not (tmp_path / "d" / "data" / "2.dat").exists()
    fetched = [r for r, _ in server.requests if r.endswith("2.dat")]
    assert len(fetched) == 2  # one retry from scratch
    assert (tmp_path / "d" / "data" / "1.dat").read_bytes() == FILES["data/1.dat"]


def test_cli_download_and_errors(mirror, tmp_path):
    from fgclep.cli.main import app

    server, url = mirror
    _publish(server, FILES, corrupt={"RECORDS": b"3\n"})
    runner = CliRunner()
    result = runner.invoke(app, ["download", "ludb", "--to", str(tmp_path / "c"), "--base-url", url,
                                 "--no-progress"])
    assert result.exit_code == 1 and "FAILED RECORDS" in result.output
    missing = runner.invoke(app, ["download", "ludb", "--to", str(tmp_path / "e"), "--base-url",
                                  url.replace("ludb", "nothing")])
    flat = " ".join(missing.output.replace("\u2502", " ").split())
    assert missing.exit_code == 2 and "cannot fetch" in flat


def test_unreachable_sums_file_leaves_no_socket_open(mirror, tmp_path):
    """The 404 on SHA256SUMS.txt holds the server's response and its socket; it is closed at
    once, not left to the garbage collector (which warns about the unclosed socket in whatever
    test happens to run then)."""
    server, url = mirror
    with pytest.raises(ValueError, match="cannot fetch") as info:
        download("ludb", tmp_path / "x", base_url=url.replace("ludb", "nothing"), progress=False)
    http_error = info.value.__context__
    assert http_error is not None and http_error.code == 404
    assert http_error.fp.closed


def test_parse_sha256sums_rejects_bad_lines():
    ok = parse_sha256sums("a" * 64 + "  data/x.hea\n\n" + "B" * 64 + " *y.dat\n")
    assert ok == {"data/x.hea": "a" * 64, "y.dat": "b" * 64}
    with pytest.raises(ValueError, match="line 1"):
        parse_sha256sums("nothex  file\n")
    with pytest.raises(ValueError, match="unsafe path"):
        parse_sha256sums("a" * 64 + "  ../../etc/passwd\n")
    with pytest.raises(ValueError, match="dataset must be one of"):
        download("imagenet", Path("x"))
