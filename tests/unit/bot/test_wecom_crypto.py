"""WeCom callback crypto pinned with Tencent's official vectors (tests/data/wecom/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from bot.wecom.crypto import (
    WeComCrypto,
    WeComDecryptError,
    WeComReceiverError,
    WeComSignatureError,
    WeComTimestampError,
    aes_key,
    extract_encrypt,
    signature,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "data" / "wecom" / "official_vectors.json").read_text("utf-8"))


def crypto_for(name: str, receive_id: str | None = None, skew: int = 0) -> WeComCrypto:
    v = VECTORS[name]
    return WeComCrypto(v["token"], v["encoding_aes_key"],
                       v["receive_id"] if receive_id is None else receive_id, skew)


@pytest.mark.parametrize("name", ["A", "B"])
def test_official_url_verification(name: str) -> None:
    get = VECTORS[name]["verify_url"]
    echostr = unquote(get["echostr_urlencoded"])
    echo = crypto_for(name).verify_url(get["msg_signature"], get["timestamp"], get["nonce"],
                                       echostr)
    assert echo == get["echo"]


@pytest.mark.parametrize("name", ["A", "B"])
def test_official_post_decrypts(name: str) -> None:
    post = VECTORS[name]["post"]
    plain = crypto_for(name).decrypt_body(post["msg_signature"], post["timestamp"],
                                          post["nonce"], post["body"])
    assert plain == post["plaintext"]


@pytest.mark.parametrize("name", ["A", "B"])
def test_official_signature_matches(name: str) -> None:
    v = VECTORS[name]
    post = v["post"]
    encrypted = extract_encrypt(post["body"])
    assert signature(v["token"], post["timestamp"], post["nonce"], encrypted) == \
        post["msg_signature"]


def test_vector_a_needs_32_byte_pkcs7_block() -> None:
    """Vector A's padding is 30 bytes: a 16-byte unpadder would refuse it."""
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = aes_key(VECTORS["A"]["encoding_aes_key"])
    raw = base64.b64decode(extract_encrypt(VECTORS["A"]["post"]["body"]))
    plain = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor().update(raw)
    assert plain[-1] == 30


def test_tampered_ciphertext_is_a_signature_error() -> None:
    post = VECTORS["B"]["post"]
    body = post["body"].replace("Kl7kjo", "Kl7kjp")
    with pytest.raises(WeComSignatureError):
        crypto_for("B").decrypt_body(post["msg_signature"], post["timestamp"], post["nonce"],
                                     body)


def test_tampered_nonce_is_a_signature_error() -> None:
    post = VECTORS["A"]["post"]
    with pytest.raises(WeComSignatureError):
        crypto_for("A").decrypt_body(post["msg_signature"], post["timestamp"], "1", post["body"])


def test_wrong_receive_id_is_refused() -> None:
    post = VECTORS["A"]["post"]
    with pytest.raises(WeComReceiverError):
        crypto_for("A", receive_id="ww0000000000000000").decrypt_body(
            post["msg_signature"], post["timestamp"], post["nonce"], post["body"])


def test_wrong_key_is_a_decrypt_error() -> None:
    v = VECTORS["A"]
    other = WeComCrypto(v["token"], VECTORS["B"]["encoding_aes_key"], v["receive_id"], 0)
    post = v["post"]
    with pytest.raises(WeComDecryptError):
        other.decrypt_body(post["msg_signature"], post["timestamp"], post["nonce"], post["body"])


def test_signed_garbage_is_a_decrypt_error() -> None:
    crypto = crypto_for("A")
    for garbage in ("not base64!", "QUJD", "A" * 44):
        sig = crypto.sign("1", "n", garbage)
        with pytest.raises(WeComDecryptError):
            crypto.decrypt_body(sig, "1", "n", f"<xml><Encrypt>{garbage}</Encrypt></xml>")


@pytest.mark.parametrize(("now_offset", "ok"), [(0, True), (299, True), (-299, True),
                                                 (301, False), (-301, False)])
def test_clock_skew_window(now_offset: int, ok: bool) -> None:
    post = VECTORS["A"]["post"]
    crypto = crypto_for("A", skew=300)
    now = int(post["timestamp"]) + now_offset
    args = (post["msg_signature"], post["timestamp"], post["nonce"], post["body"])
    if ok:
        assert crypto.decrypt_body(*args, now=now) == post["plaintext"]
    else:
        with pytest.raises(WeComTimestampError):
            crypto.decrypt_body(*args, now=now)


def test_timestamp_error_is_a_signature_error() -> None:
    """A replay is answered like a forgery (401), so the subclassing is part of the contract."""
    assert issubclass(WeComTimestampError, WeComSignatureError)


def test_zero_skew_disables_the_window() -> None:
    post = VECTORS["A"]["post"]
    plain = crypto_for("A", skew=0).decrypt_body(post["msg_signature"], post["timestamp"],
                                                 post["nonce"], post["body"], now=4e9)
    assert plain == post["plaintext"]


@pytest.mark.parametrize("message", ["", "x", "你好" * 100, "a" * 12, "b" * 31])
def test_round_trip_xml_and_json(message: str) -> None:
    crypto = crypto_for("B")
    encrypted = crypto.encrypt(message)
    sig = crypto.sign("100", "nonce", encrypted)
    xml = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert crypto.decrypt_body(sig, "100", "nonce", xml) == message
    assert crypto.decrypt_body(sig, "100", "nonce", json.dumps({"encrypt": encrypted})) == message


def test_encrypt_is_deterministic_with_fixed_random() -> None:
    crypto = crypto_for("A")
    random16 = b"0123456789abcdef"
    assert crypto.encrypt("hi", random16) == crypto.encrypt("hi", random16)
    assert crypto.decrypt(crypto.encrypt("hi", random16)) == "hi"


def test_encrypted_reply_is_signed() -> None:
    crypto = crypto_for("B")
    reply = crypto.encrypt_reply("<xml>ok</xml>", "1476422779", "1597212914")
    sig = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert crypto.decrypt_body(sig, "1476422779", "1597212914", reply) == "<xml>ok</xml>"


def test_dtd_is_refused() -> None:
    body = '<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'
    with pytest.raises(WeComDecryptError):
        extract_encrypt(body)


@pytest.mark.parametrize("key", ["short", "!" * 43, VECTORS["A"]["encoding_aes_key"] + "A"])
def test_bad_encoding_aes_key_is_rejected_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeComCrypto("t", key, "corp")


def test_repr_hides_secrets() -> None:
    text = repr(crypto_for("A"))
    assert VECTORS["A"]["token"] not in text
    assert VECTORS["A"]["encoding_aes_key"] not in text
