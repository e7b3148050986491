"""Signed WACZ packages: `archiver keys init/show`, `export --wacz --sign`, `verify --wacz`.

What a user (and the third party they send a package to) checks: the key pair is made outside the
archive, the private key readable by its owner alone and never in git or a package; the package
validates with `wacz validate`; its signature checks with the `cryptography` primitives alone, as the
WACZ signing specification says (ECDSA P-256 over SHA-256 of the `hash` string, DER, base64), not
with our code; one byte changed anywhere makes the check fail; and every bad key or damaged package
is one line with its documented exit code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from support import tsa
from support.commands import git
from support.replay import BIN
from support.userview import in_process, run

from archiver.evidence import keys, wacz

ROOT = Path(__file__).resolve().parent.parent
SPEC_FIELDS = {"hash", "created", "software", "version", "signature", "publicKey"}


@pytest.fixture
def config(tmp_path: Path) -> dict[str, str]:
    """The user's XDG_CONFIG_HOME, where `keys init` puts the pair by default."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def key_dir(config: dict[str, str]) -> Path:
    return Path(config["XDG_CONFIG_HOME"]) / "archiver" / "keys"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return in_process(list(args), env)


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(path)], capture_output=True, text=True
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


def independent_check(package: Path) -> str:
    """The specification's three steps with hashlib and cryptography only; the signer's
    fingerprint (sha256 of the public key's DER). Raises AssertionError or InvalidSignature."""
    with zipfile.ZipFile(package) as z:
        datapackage = z.read("datapackage.json")
        digest = json.loads(z.read("datapackage-digest.json"))
        listing = json.loads(datapackage)
        for resource in listing["resources"]:
            content = z.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
    actual = "sha256:" + hashlib.sha256(datapackage).hexdigest()
    assert digest["path"] == "datapackage.json" and digest["hash"] == actual
    signed = digest["signedData"]
    assert set(signed) == SPEC_FIELDS and signed["created"] == listing["created"]
    der = base64.b64decode(signed["publicKey"])
    public = serialization.load_der_public_key(der)
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    # What is signed is the hash as it stands in datapackage-digest.json, recomputed here.
    public.verify(
        base64.b64decode(signed["signature"]), actual.encode("ascii"), ec.ECDSA(hashes.SHA256())
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def rewritten(package: Path, out: Path, change: dict[str, bytes]) -> Path:
    """A copy of the package with some members' bytes replaced, as a forger would make it."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, change.get(info.filename, src.read(info.filename)))
    return out


def one_byte_changed(data: bytes) -> bytes:
    at = data.index(b'"title": "') + len(b'"title": "')
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def rehashed_forgery(package: Path, out: Path) -> Path:
    """One byte of datapackage.json changed, and both hashes of datapackage-digest.json rewritten
    to match it: all a forger without the private key can do."""
    with zipfile.ZipFile(package) as z:
        datapackage = one_byte_changed(z.read("datapackage.json"))
        digest = json.loads(z.read("datapackage-digest.json"))
    digest["hash"] = digest["signedData"]["hash"] = (
        "sha256:" + hashlib.sha256(datapackage).hexdigest()
    )
    return rewritten(
        package,
        out,
        {"datapackage.json": datapackage, "datapackage-digest.json": json.dumps(digest).encode()},
    )


@pytest.fixture
def signed(history, config, tmp_path: Path) -> Path:
    assert cli("keys", "init", env=config).returncode == 0
    out = tmp_path / "signed.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--sign", env=config)
    assert result.returncode == 0, result.stderr
    return out


# -- keys ------------------------------------------------------------------------------------------


def test_keys_init_makes_a_p256_pair_readable_by_its_owner_alone_and_show_prints_it(config):
    made = cli("keys", "init", env=config)
    assert made.returncode == 0, made.stderr
    private, public = key_dir(config) / "signing-key.pem", key_dir(config) / "signing-key.pub.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    assert key_dir(config).stat().st_mode & 0o077 == 0
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = "sha256:" + hashlib.sha256(der).hexdigest()
    assert made.stdout.splitlines()[-1] == f"public key fingerprint {fingerprint}"

    shown = cli("keys", "show", env=config)
    assert shown.returncode == 0
    assert shown.stdout == public.read_text() + f"public key fingerprint {fingerprint}\n"
    assert (
        serialization.load_pem_public_key(public.read_bytes()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == der
    )
    data = json.loads(cli("keys", "show", "--json", env=config).stdout)
    assert data["fingerprint"] == fingerprint and data["private_key"] == str(private)


def test_keys_init_never_replaces_a_key(config):
    assert cli("keys", "init", env=config).returncode == 0
    before = (key_dir(config) / "signing-key.pem").read_bytes()
    one_line_error(cli("keys", "init", env=config), 2, "already exists", "move it aside")
    assert (key_dir(config) / "signing-key.pem").read_bytes() == before


def test_keys_init_refuses_a_folder_in_an_archive_or_a_git_work_tree(archive, config, tmp_path):
    inside = archive.root / "keys"
    one_line_error(cli("keys", "init", "--dir", str(inside), env=config), 2, "inside the archive")
    repo = tmp_path / "dotfiles"
    repo.mkdir()
    git(repo, "init", "-q")
    nested = repo / "a" / "keys"
    one_line_error(cli("keys", "init", "--dir", str(nested), env=config), 2, "git work tree")
    assert not inside.exists() and not nested.exists()


def test_keys_show_without_a_key_says_to_make_one(config):
    one_line_error(cli("keys", "show", env=config), 2, "archiver keys init")


# -- a signed package ------------------------------------------------------------------------------


def test_a_signed_package_validates_and_its_signature_checks_with_cryptography_alone(
    history, signed, config
):
    check = wacz_validate(signed)
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, (
        check.stdout + check.stderr
    )
    fingerprint = independent_check(signed)
    assert cli("keys", "show", "--json", env=config).returncode == 0
    assert json.loads(cli("keys", "show", "--json", env=config).stdout)["fingerprint"] == (
        fingerprint
    )

    # The private key is in no package member and in no file git knows.
    private = (key_dir(config) / "signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(private, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with zipfile.ZipFile(signed) as z:
        for name in z.namelist():
            content = z.read(name)
            assert b"PRIVATE KEY" not in content and secret not in content and der not in content
    tracked = git(history.root, "ls-files").splitlines()
    assert not any("key" in Path(name).name for name in tracked), tracked
    assert git(history.root, "status", "--porcelain") == ""


def test_verify_wacz_prints_each_check_of_a_signed_package(signed):
    result = in_process(["verify", "--wacz", str(signed)])
    assert result.returncode == 0, result.stdout + result.stderr
    fingerprint = independent_check(signed)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   files: ") and lines[0].endswith("files match datapackage.json")
    assert lines[1].startswith("ok   datapackage: datapackage.json matches")
    assert lines[2] == f"ok   signature: valid, by the ECDSA public key {fingerprint} it names"
    assert lines[3] == f"{signed}: intact, signed by {fingerprint}"
    data = json.loads(in_process(["verify", "--wacz", str(signed), "--json"]).stdout)
    assert data["ok"] and data["signed_by"] == fingerprint and len(data["checks"]) == 3


def test_verify_wacz_signer_requires_the_key_the_signer_gave(signed, tmp_path, config):
    """A forger can sign a changed package with a key of their own: the signature is valid, and
    only the fingerprint tells. `--signer` makes that a failed check."""
    mine = independent_check(signed)
    ok = in_process(["verify", "--wacz", str(signed), "--signer", mine])
    assert ok.returncode == 0 and f"ok   signer: the signature is by {mine}" in ok.stdout

    forger = ec.generate_private_key(ec.SECP256R1())
    with zipfile.ZipFile(signed) as z:
        datapackage = one_byte_changed(z.read("datapackage.json"))
        digest = json.loads(z.read("datapackage-digest.json"))
    digest["hash"] = signed_hash = "sha256:" + hashlib.sha256(datapackage).hexdigest()
    digest["signedData"] |= {
        "hash": signed_hash,
        "signature": base64.b64encode(
            forger.sign(signed_hash.encode(), ec.ECDSA(hashes.SHA256()))
        ).decode(),
        "publicKey": base64.b64encode(
            forger.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode(),
    }
    forged = rewritten(
        signed,
        tmp_path / "resigned.wacz",
        {"datapackage.json": datapackage, "datapackage-digest.json": json.dumps(digest).encode()},
    )
    assert independent_check(forged) != mine  # valid, by another key
    plain = in_process(["verify", "--wacz", str(forged)])
    assert plain.returncode == 0 and mine not in plain.stdout
    result = in_process(["verify", "--wacz", str(forged), "--signer", mine])
    assert result.returncode == 5
    assert f"FAIL signer: the package is not signed by {mine}: its signer is unknown" in (
        result.stdout
    )
    one_line_error(
        in_process(["verify", "--wacz", str(signed), "--signer", "efa601"]), 2, "fingerprint"
    )


def test_one_byte_changed_in_datapackage_json_fails_every_check(signed, tmp_path):
    with zipfile.ZipFile(signed) as z:
        datapackage = z.read("datapackage.json")
    forged = rewritten(
        signed, tmp_path / "forged.wacz", {"datapackage.json": one_byte_changed(datapackage)}
    )
    with pytest.raises(AssertionError):  # the hash no longer matches
        independent_check(forged)
    assert wacz_validate(forged).returncode != 0

    result = in_process(["verify", "--wacz", str(forged)])
    assert result.returncode == 5
    assert "FAIL datapackage: datapackage.json is sha256:" in result.stdout
    assert "FAIL signature: signedData.hash sha256:" in result.stdout  # signed another hash
    assert "2 checks failed" in result.stderr


def test_a_forger_who_rewrites_the_digest_still_fails_the_signature(signed, tmp_path):
    forged = rehashed_forgery(signed, tmp_path / "forged.wacz")
    with pytest.raises(InvalidSignature):
        independent_check(forged)
    result = in_process(["verify", "--wacz", str(forged)])
    assert result.returncode == 5
    assert "FAIL signature: the signature does not match the hash and public key" in result.stdout


def test_one_byte_changed_in_a_warc_fails_the_files_check(signed, tmp_path):
    with zipfile.ZipFile(signed) as z:
        name = next(n for n in z.namelist() if n.startswith("archive/"))
        data = bytearray(z.read(name))
    data[len(data) // 2] ^= 0x01
    forged = rewritten(signed, tmp_path / "forged.wacz", {name: bytes(data)})
    result = in_process(["verify", "--wacz", str(forged)])
    assert result.returncode == 5
    assert f"FAIL files: {name} does not match its hash in datapackage.json" in result.stdout


def test_an_unsigned_package_is_intact_and_said_to_be_unsigned(history, tmp_path):
    out = tmp_path / "plain.wacz"
    assert run(history.root, "export", "--wacz", str(out)).returncode == 0
    result = in_process(["verify", "--wacz", str(out)])
    assert result.returncode == 0
    assert "ok   signature: none: the package is not signed" in result.stdout
    assert result.stdout.splitlines()[-1] == f"{out}: intact, not signed"


@pytest.mark.parametrize("content", [b"", b"not a zip at all\n" * 10, b"PK\x03\x04" + b"\0" * 64])
def test_a_damaged_package_is_told_in_lines_and_exit_5(tmp_path, content):
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(content)
    result = in_process(["verify", "--wacz", str(bad)])
    assert result.returncode == 5, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL zip: not a readable ZIP file")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("members", "told"),
    [
        ({"archive/a.warc.gz": b"x"}, "FAIL datapackage.json: missing from the package"),
        ({"datapackage.json": b"[1, 2"}, "FAIL datapackage.json: is not a JSON object"),
        ({"datapackage.json": b"[" * 100_000}, "FAIL datapackage.json: is not a JSON object"),
        (
            {"datapackage.json": b'{"resources": []}'},
            "FAIL datapackage-digest.json: missing from the package",
        ),
        (
            {"datapackage.json": b'{"resources": 7}', "datapackage-digest.json": b"{}"},
            "FAIL files: datapackage.json has no list of resources with paths",
        ),
    ],
    ids=["no-datapackage", "broken-json", "deep-json", "no-digest", "no-resources"],
)
def test_a_package_missing_its_metadata_is_told_in_a_line(tmp_path, members, told):
    bad = tmp_path / "bad.wacz"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    result = in_process(["verify", "--wacz", str(bad)])
    assert result.returncode == 5 and told in result.stdout.splitlines(), result.stdout
    assert len(result.stderr.splitlines()) == 1


def test_a_package_that_is_not_there_is_a_usage_error(tmp_path):
    one_line_error(in_process(["verify", "--wacz", str(tmp_path / "none.wacz")]), 2, "no WACZ")


def standard_tools_recipe() -> str:
    """The shell recipe of docs/concepts.md 'Signed packages', as a reader would paste it."""
    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    start = text.index("## Signed packages")
    return text[text.index("```sh\n", start) + 6 : text.index("```\n", text.index("```sh", start))]


def run_recipe(package: Path, folder: Path) -> list[str]:
    folder.mkdir()
    (folder / "harbour.wacz").write_bytes(package.read_bytes())
    done = subprocess.run(
        ["bash", "-c", standard_tools_recipe()], cwd=folder, capture_output=True, text=True
    )
    return (done.stdout + done.stderr).splitlines()


def test_the_documented_openssl_recipe_checks_a_package_and_catches_a_forgery(signed, tmp_path):
    """A third party with unzip, jq and openssl: the hashes agree, openssl verifies, and the
    fingerprint is the signer's."""
    fingerprint = independent_check(signed)
    lines = run_recipe(signed, tmp_path / "good")
    assert lines[0] == lines[1] == lines[2] and lines[0].startswith("sha256:")
    assert lines[3] == "Verified OK" and lines[4] == fingerprint, lines

    forged = rehashed_forgery(signed, tmp_path / "forged.wacz")
    lines = run_recipe(forged, tmp_path / "bad")
    assert "Verified OK" not in lines and "Verification failure" in lines, lines


# -- bad keys --------------------------------------------------------------------------------------


def test_sign_without_a_key_says_to_make_one_and_writes_nothing(history, config, tmp_path):
    out = tmp_path / "signed.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--sign", env=config)
    one_line_error(result, 2, "no signing key", "archiver keys init")
    assert not out.exists()


def test_a_private_key_others_may_read_is_refused(history, config, tmp_path):
    assert cli("keys", "init", env=config).returncode == 0
    (key_dir(config) / "signing-key.pem").chmod(0o644)
    out = tmp_path / "signed.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--sign", env=config)
    one_line_error(result, 2, "may be read by others", "chmod 600")
    assert not out.exists()


def _pem(key: object) -> bytes:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "not a PEM"),
        (lambda: _pem(rsa.generate_private_key(65537, 2048)), "not an ECDSA P-256"),
        (lambda: _pem(ec.generate_private_key(ec.SECP384R1())), "not an ECDSA P-256"),
        (lambda: _pem(ec.generate_private_key(ec.SECP256R1()).public_key()), "not a PEM private"),
    ],
    ids=["garbage", "rsa", "p384", "public"],
)
def test_a_key_file_of_the_wrong_kind_is_one_line(history, config, tmp_path, content, words):
    path = tmp_path / "elsewhere" / "key.pem"
    path.parent.mkdir()
    path.write_bytes(content() if callable(content) else content)
    path.chmod(0o600)
    out = tmp_path / "signed.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--key", str(path), env=config)
    one_line_error(result, 2, words)
    assert not out.exists()


def test_a_key_inside_the_archive_is_refused(history, config):
    assert (
        cli("keys", "init", "--dir", str(history.root.parent / "keys"), env=config).returncode == 0
    )
    inside = history.root / ".archiver" / "key.pem"
    inside.write_bytes((history.root.parent / "keys" / "signing-key.pem").read_bytes())
    inside.chmod(0o600)
    result = run(
        history.root,
        "export",
        "--wacz",
        str(history.root.parent / "x.wacz"),
        "--key",
        str(inside),
        env=config,
    )
    one_line_error(result, 2, "inside the archive")


# -- the time-stamp seam ---------------------------------------------------------------------------


def test_a_timestamper_stamps_the_signature_and_its_token_lies_beside_the_package(
    history, tmp_path
):
    """The seam a time-stamp authority's client plugs into: it is handed the signature as the file
    holds it (its base64 text) and its token is written beside the package, outside the zip."""
    handed: list[bytes] = []

    def timestamper(signature: bytes) -> bytes:
        handed.append(signature)
        return b"token for " + hashlib.sha256(signature).digest()

    key = ec.generate_private_key(ec.SECP256R1())
    out = tmp_path / "stamped.wacz"
    summary = wacz.export(history.archive.store, out, key=key, timestamper=timestamper)
    with zipfile.ZipFile(out) as z:
        signed_data = json.loads(z.read("datapackage-digest.json"))["signedData"]
        assert not any(n.endswith(".tsr") for n in z.namelist())
    assert handed == [signed_data["signature"].encode("ascii")]
    token = out.with_name("stamped.wacz.tsr")
    assert summary.timestamp_token == token
    assert token.read_bytes() == b"token for " + hashlib.sha256(handed[0]).digest()
    assert summary.signed_by == keys.fingerprint(key.public_key())
    assert wacz_validate(out).returncode == 0

    # The package replaced without a token: the old token, which stamps nothing now, goes.
    again = wacz.export(history.archive.store, out, key=key)
    assert again.timestamp_token is None and not token.exists()


def test_a_second_file_of_the_same_name_fails_the_files_check(signed, tmp_path):
    """Readers differ on which of two same-named members they take: a forger's way to show one
    datapackage.json to the checker and another to the viewer."""
    forged = tmp_path / "twice.wacz"
    forged.write_bytes(signed.read_bytes())
    with zipfile.ZipFile(forged, "a") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("pages/pages.jsonl", b'{"format": "json-pages-1.0"}\n')
    result = in_process(["verify", "--wacz", str(forged)])
    assert result.returncode == 5
    assert "FAIL files: the package holds two files named pages/pages.jsonl" in result.stdout


def test_an_archiveweb_page_signature_p384_raw_r_s_is_checked_too(signed, tmp_path):
    """ArchiveWeb.page signs with WebCrypto: a P-384 key and the raw r||s form of the signature."""
    key = ec.generate_private_key(ec.SECP384R1())
    with zipfile.ZipFile(signed) as z:
        digest = json.loads(z.read("datapackage-digest.json"))
    der = key.sign(digest["hash"].encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    digest["signedData"]["signature"] = base64.b64encode(
        r.to_bytes(48, "big") + s.to_bytes(48, "big")
    ).decode()
    digest["signedData"]["publicKey"] = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    good = rewritten(
        signed, tmp_path / "awp.wacz", {"datapackage-digest.json": json.dumps(digest).encode()}
    )
    result = in_process(["verify", "--wacz", str(good)])
    assert result.returncode == 0, result.stdout
    assert f"signed by {keys.fingerprint(key.public_key())}" in result.stdout

    raw = bytearray(base64.b64decode(digest["signedData"]["signature"]))
    raw[-1] ^= 0x01
    digest["signedData"]["signature"] = base64.b64encode(bytes(raw)).decode()
    bad = rewritten(
        signed, tmp_path / "awp-bad.wacz", {"datapackage-digest.json": json.dumps(digest).encode()}
    )
    assert in_process(["verify", "--wacz", str(bad)]).returncode == 5


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tsa.Pki:
    return tsa.Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def authority(pki):
    server = tsa.Tsa(pki).start()
    yield server
    server.stop()


def with_tsa(root: Path, pki: tsa.Pki, url: str) -> None:
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("tsa_urls = []", f'tsa_urls = ["{url}"]'))
    (root / "evidence" / "tsa").mkdir(parents=True)
    shutil.copy(pki.ca, root / "evidence" / "tsa" / "test-ca.pem")


def test_with_a_tsa_the_signature_is_time_stamped_beside_the_package(
    history, config, pki, authority, tmp_path
):
    """The token stamps the `signature` text as datapackage-digest.json holds it, checked by
    `openssl ts -verify` against the TSA's CA."""
    with_tsa(history.root, pki, authority.url)
    assert cli("keys", "init", env=config).returncode == 0
    out = tmp_path / "stamped.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--sign", "--json", env=config)
    assert result.returncode == 0, result.stderr
    token = tmp_path / "stamped.wacz.tsr"
    assert json.loads(result.stdout)["timestamp_token"] == str(token)
    with zipfile.ZipFile(out) as z:
        signature = json.loads(z.read("datapackage-digest.json"))["signedData"]["signature"]
    (tmp_path / "signature.txt").write_text(signature)
    assert tsa.openssl_verify(token, pki.ca, data=tmp_path / "signature.txt")
    (tmp_path / "other.txt").write_text(signature[:-4] + "AAA=")
    assert not tsa.openssl_verify(token, pki.ca, data=tmp_path / "other.txt")
    assert independent_check(out)


def test_with_the_tsa_down_the_package_is_signed_without_a_token(
    history, config, pki, authority, tmp_path
):
    with_tsa(history.root, pki, authority.url)
    authority.mode = tsa.DOWN
    assert cli("keys", "init", env=config).returncode == 0
    out = tmp_path / "signed.wacz"
    result = run(history.root, "export", "--wacz", str(out), "--sign", env=config)
    assert result.returncode == 0, result.stderr
    assert "signed by sha256:" in result.stdout and "time-stamped" not in result.stdout
    [warning] = result.stderr.splitlines()
    assert "not time-stamped" in warning and "HTTP 503" in warning
    assert not (tmp_path / "signed.wacz.tsr").exists()
    assert independent_check(out)


def test_verify_takes_one_package_at_a_time(signed, tmp_path):
    one_line_error(
        in_process(["verify", "--wacz", str(signed), "--receipt", str(tmp_path / "r.zip")]),
        2,
        "give one",
    )
    one_line_error(in_process(["verify", "--signer", "sha256:" + "0" * 64]), 2, "--wacz")
