"""Who served the bytes: every HTTPS answer's connection record holds the certificate chain the
server presented in that very handshake, the TLS version and cipher it agreed, the ALPN protocol, the
SNI name and the address connected to; plain HTTP keeps the IP on the response record.

The server is real TLS on loopback with a test CA, an intermediate and a leaf made by trustme; the
archive trusts the CA through requests' REQUESTS_CA_BUNDLE. What the server negotiated is read from
its own side of each connection.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from support.archives import allow_loopback_sources, configure
from support.hostile import Conn, Hostile, page, response
from support.replay import Wayback
from support.userview import STORY, archiver
from support.warcs import Record, records
from warcio.timeutils import iso_date_to_timestamp

from archiver import Archive

BIN = Path(sys.executable).parent


@dataclass
class Served:
    """An archive that captured an HTTPS redirect and the page it led to, and what the server saw."""

    root: Path
    port: int
    chain: list[bytes]  # DER of what the server presents: leaf, intermediate
    negotiated: list[tuple[str, str, str | None]] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)  # SNI names received

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"


def der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    ca = trustme.CA()
    intermediate = ca.create_child_ca()
    leaf = intermediate.issue_cert("localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)  # presents the leaf and the intermediate
    context.set_alpn_protocols(["http/1.1"])
    work = tmp_path_factory.mktemp("provenance")
    bundle = work / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = Hostile(tls=context).start()
    done = Served(work / "archive", server.port, [der(p.bytes()) for p in leaf.cert_chain_pems])
    context.sni_callback = lambda sock, name, ctx: done.names.append(name)

    def negotiated(script):
        def serve(conn: Conn) -> None:
            cipher = conn.sock.cipher()
            done.negotiated.append(
                (conn.sock.version(), cipher[0], conn.sock.selected_alpn_protocol())
            )
            script(conn)

        return serve

    body = page("Terminal approved", STORY).encode()
    server.routes["/old"] = negotiated(
        lambda conn: conn.send(response("301 Moved Permanently", [("Location", "/story")]))
    )
    server.routes["/story"] = negotiated(
        lambda conn: conn.send(response("200 OK", [("Content-Type", "text/html")], body))
    )
    server.routes["/robots.txt"] = negotiated(
        lambda conn: conn.send(response("404 Not Found", [], b""))
    )
    Archive.init(done.root)
    allow_loopback_sources(done.root)
    try:
        run = archiver(
            done.root, "add", done.url("/old"), "--json", env={"REQUESTS_CA_BUNDLE": str(bundle)}
        )
        assert run.code == 0 and run.result(done.url("/old"))["outcome"] == "new", run
    finally:
        server.stop()
    yield done


def connection_records(base: Path) -> dict[str, Record]:
    """The connection records of the WARC files under `base`, by the URL they are about."""
    return {
        r.uri.removeprefix("urn:archiver:connection:"): r
        for r in records(base)
        if r.type == "metadata" and r.uri.startswith("urn:archiver:connection:")
    }


def fields(record: Record) -> list[tuple[str, str]]:
    lines = record.payload.decode().split("\r\n")
    return [tuple(line.split(": ", 1)) for line in lines if line]  # type: ignore[misc]


def test_each_https_answer_has_a_connection_record_with_the_chain_presented(served):
    answers = {r.uri: r for r in records(served.root / "warcs") if r.type == "response"}
    assert set(answers) == {served.url("/old"), served.url("/story")}
    found = connection_records(served.root / "warcs")
    assert set(found) == set(answers)  # the redirect hop's connection too
    # robots.txt came first on its own connection: every connection agreed the same
    [agreed] = set(served.negotiated)
    assert served.names and set(served.names) == {"localhost"}
    for url, record in found.items():
        answer = answers[url]
        assert record.warc.get_header("WARC-Concurrent-To") == answer.warc.get_header(
            "WARC-Record-ID"
        )
        assert record.warc.get_header("WARC-Date") == answer.warc.get_header("WARC-Date")
        assert record.warc.get_header("Content-Type") == "application/warc-fields"
        pairs = fields(record)
        facts = dict(pairs)
        chain = [base64.b64decode(v) for k, v in pairs if k == "tls-certificate"]
        assert chain == served.chain and len(chain) == 2  # leaf, then the intermediate
        assert (facts["tls-version"], facts["tls-cipher"], facts["tls-alpn"]) == agreed
        assert facts["tls-sni"] == "localhost"
        assert facts["peer-ip"] == "127.0.0.1" == answer.warc.get_header("WARC-IP-Address")
        assert facts["peer-port"] == str(served.port)
        assert facts["tls-certificate-verified"] == "yes"
        assert facts["tls-chain-source"] in ("get_unverified_chain", "_sslobj.get_unverified_chain")
        assert "tls-error" not in facts


def test_show_provenance_describes_the_chain_of_the_version(served):
    shown = archiver(served.root, "show", served.url("/old"), "--provenance", "--json")
    assert shown.code == 0, shown.stderr
    data = shown.data
    assert data["target_uri"] == served.url("/story") and data["version"] == 1
    assert (data["ip"], data["port"], data["recorded"]) == ("127.0.0.1", served.port, True)
    tls = data["tls"]
    [agreed] = set(served.negotiated)
    assert (tls["version"], tls["cipher"], tls["alpn"], tls["sni"]) == (*agreed, "localhost")
    assert tls["verified"] is True
    leaf, intermediate = tls["chain"]
    assert [c["sha256"].replace(":", "").lower() for c in tls["chain"]] == [
        hashlib.sha256(d).hexdigest() for d in served.chain
    ]
    assert [der(c["pem"].encode()) for c in tls["chain"]] == served.chain
    assert leaf["issuer"] == intermediate["subject"] and leaf["not_before"] < leaf["not_after"]
    assert leaf["names"] == ["localhost"]

    # where it says the record is, warcio finds it
    extracted = subprocess.run(
        [str(BIN / "warcio"), "extract", "--payload", data["file"], str(data["offset"])],
        cwd=served.root,
        capture_output=True,
        check=True,
    ).stdout
    assert (
        f"tls-certificate: {base64.b64encode(served.chain[1]).decode()}\r\n".encode() in extracted
    )

    both = archiver(served.root, "show", served.url("/old"), "--provenance", "--raw")
    assert both.code == 2 and "--raw or --provenance" in both.stderr

    text = archiver(served.root, "show", served.url("/old"), "--provenance")
    assert text.code == 0
    assert f"served by 127.0.0.1:{served.port}" in text.stdout
    assert agreed[0] in text.stdout and leaf["sha256"] in text.stdout


def test_verify_index_and_export_take_the_connection_records(served, tmp_path):
    assert archiver(served.root, "verify").code == 0
    index = archiver(served.root, "index", "--json")
    assert index.code == 0
    lines = (served.root / ".archiver" / "indexes" / "index.cdxj").read_text().splitlines()
    assert lines and not any("urn:archiver" in line for line in lines)  # replay keys: pages only

    out = tmp_path / "story.wacz"
    assert archiver(served.root, "export", "--wacz", str(out), served.url("/old")).code == 0
    check = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(out)], capture_output=True, text=True
    )
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout
    with zipfile.ZipFile(out) as package:
        packed = tmp_path / "packed"
        for name in package.namelist():
            if name.startswith("archive/"):
                package.extract(name, packed)
    # a chosen page's export keeps each hop's connection record, as its request
    assert set(connection_records(packed)) == {
        served.url("/old"),
        served.url("/story"),
    }


def test_pywb_replays_the_https_capture_as_before(served, tmp_path):
    """The connection records are beside the answers, never in their place."""
    assert archiver(served.root, "index").code == 0
    answers = {r.uri: r for r in records(served.root / "warcs") if r.type == "response"}
    wayback = Wayback(served.root, tmp_path).start()
    try:
        for url, record in answers.items():
            stamp = iso_date_to_timestamp(record.warc.get_header("WARC-Date"))
            raw = wayback.get(stamp, "id_", url, follow=False)
            assert raw.status_code == int(record.http_status) and raw.content == record.payload
        followed = wayback.get(stamp, "mp_", served.url("/old"))
        assert [hop.status_code for hop in followed.history] == [301]
        assert followed.status_code == 200 and all(line in followed.text for line in STORY)
    finally:
        wayback.stop()


def test_plain_http_keeps_the_ip_and_no_connection_record(root, server):
    server.answer("/story", page("Terminal approved", STORY).encode())
    assert archiver(root, "add", server.url("/story")).code == 0
    assert connection_records(root / "warcs") == {}
    [answer] = [r for r in records(root / "warcs") if r.type == "response"]
    assert answer.warc.get_header("WARC-IP-Address") == "127.0.0.1"
    shown = archiver(root, "show", server.url("/story"), "--provenance", "--json")
    assert shown.code == 0
    assert (shown.data["ip"], shown.data["tls"], shown.data["recorded"]) == (
        "127.0.0.1",
        None,
        False,
    )
    assert "plain HTTP" in archiver(root, "show", server.url("/story"), "--provenance").stdout


def test_an_unchecked_host_records_its_chain_as_not_checked(root):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued = ca.issue_cert("127.0.0.1")
    issued.configure_cert(context)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Hostile(tls=context).start()
    url, down = server.url("/story"), server.url("/down")
    try:
        server.answer("/story", page("Terminal approved", STORY).encode())
        server.answer("/down", b"down for maintenance", status="500 Internal Server Error")
        configure(root, insecure_tls_hosts=["127.0.0.1"])
        assert archiver(root, "add", url, down).code == 1  # the failed check
    finally:
        server.stop()
    # the failed answer's connection is kept with what arrived, out of git
    [failed] = connection_records(root / ".archiver" / "checks").values()
    assert failed.uri == "urn:archiver:connection:" + down
    [record] = connection_records(root / "warcs").values()
    facts = dict(fields(record))
    assert facts["tls-certificate-verified"] == "no"
    assert set(names) == {None} and "tls-sni" not in facts  # no name is sent for an IP address
    shown = archiver(root, "show", url, "--provenance", "--json")
    assert shown.data["tls"]["verified"] is False
    assert [der(c["pem"].encode()) for c in shown.data["tls"]["chain"]] == [
        der(p.bytes()) for p in issued.cert_chain_pems
    ]
    assert "not checked" in archiver(root, "show", url, "--provenance").stdout


def test_a_receipt_holds_the_connection_record_of_each_hop(served, tmp_path):
    """Who served the bytes travels with them: the receipt of the version keeps the chain."""
    out = tmp_path / "receipt.zip"
    assert archiver(served.root, "receipt", served.url("/old"), "-o", str(out)).code == 0
    with zipfile.ZipFile(out) as package:
        unpacked = tmp_path / "unpacked"
        package.extractall(unpacked)
    kept = connection_records(unpacked / "evidence")
    assert set(kept) == {served.url("/old"), served.url("/story")}
    chain = [
        base64.b64decode(v) for k, v in fields(kept[served.url("/story")]) if k == "tls-certificate"
    ]
    assert chain == served.chain
    assert archiver(tmp_path, "verify", "--receipt", str(out)).code == 0
