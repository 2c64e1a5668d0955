"""WeCom callback crypto (WXBizMsgCrypt semantics), written on ``cryptography``.

Why our own and not wechatpy: wechatpy compares signatures with ``!=``, has no timestamp window,
no JSON flavour and surfaces a wrong key as a raw UnicodeDecodeError (see notes/wecom.md §5).

The scheme (WeCom doc 90968 加解密方案说明, Tencent's WXBizMsgCrypt samples):
- signature = sha1 over the lexicographically sorted (token, timestamp, nonce, ciphertext);
- AES-256-CBC, key = b64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 to 32-byte blocks;
- plaintext = 16 random bytes || msg length (4 bytes, big-endian) || msg || receiveid.
The envelope fields outside ``Encrypt`` are not signed, so callers must trust only the
decrypted copy. The timestamp window is ours (Tencent's samples have none): it bounds replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
import time
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class WeComCryptoError(Exception):
    """Base of every refusal of a callback (never a bare 500)."""


class WeComSignatureError(WeComCryptoError):
    """msg_signature does not match: not from WeCom (or the token is wrong)."""


class WeComTimestampError(WeComSignatureError):
    """The signed timestamp is outside the allowed clock skew: a replay or a broken clock."""


class WeComDecryptError(WeComCryptoError):
    """Ciphertext, padding, length or envelope is malformed (or the AES key is wrong)."""


class WeComReceiverError(WeComCryptoError):
    """Decrypted fine but addressed to another receiveid (CorpID / suite id)."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The msg_signature WeCom computes for these four values."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 (protocol-mandated SHA-1)


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not base64") from None
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (a 32-byte key)")
    return key


def extract_encrypt(body: str | bytes) -> str:
    """The ``Encrypt`` value of a callback body: XML ``<Encrypt>`` or JSON ``encrypt``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _json_encrypt(stripped)
    return _xml_encrypt(stripped)


def _json_encrypt(text: str) -> str:
    try:
        value = json.loads(text).get("encrypt")
    except (ValueError, AttributeError):
        raise WeComDecryptError("callback body is not a JSON object") from None
    if not isinstance(value, str) or not value:
        raise WeComDecryptError("callback JSON has no encrypt field")
    return value


def _xml_encrypt(text: str) -> str:
    root = parse_xml(text)
    value = root.findtext("Encrypt")
    if not value:
        raise WeComDecryptError("callback XML has no Encrypt element")
    return value


def parse_xml(text: str) -> ET.Element:
    """Parse a small WeCom XML document; DTDs/entities are refused before parsing."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise WeComDecryptError("XML with a DTD is refused")
    try:
        return ET.fromstring(text)  # noqa: S314 (no DTD allowed, see above)
    except ET.ParseError:
        raise WeComDecryptError("callback body is not well-formed XML") from None


class WeComCrypto:
    """Verify, decrypt and encrypt for one (token, EncodingAESKey, receiveid).

    ``receive_id`` is the CorpID for a self-built app, the suite id for a third-party suite,
    and ``""`` for an internal smart robot. ``max_clock_skew_s`` = 0 disables the window.
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str,
                 max_clock_skew_s: int = 300) -> None:
        self._token = token
        self._key = aes_key(encoding_aes_key)
        self._receive_id = receive_id
        self._skew = max_clock_skew_s

    def __repr__(self) -> str:  # never show the key or token
        return f"WeComCrypto(receive_id={self._receive_id!r}, skew={self._skew})"

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str,
                   now: float | None = None) -> str:
        """URL verification (GET): the plaintext to answer with, as-is."""
        self.check(msg_signature, timestamp, nonce, echostr, now)
        return self.decrypt(echostr)

    def decrypt_body(self, msg_signature: str, timestamp: str, nonce: str,
                     body: str | bytes, now: float | None = None) -> str:
        """An encrypted POST body (XML or JSON) -> the decrypted message text."""
        encrypted = extract_encrypt(body)
        self.check(msg_signature, timestamp, nonce, encrypted, now)
        return self.decrypt(encrypted)

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str,
              now: float | None = None) -> None:
        """Signature first (constant time), then the timestamp window."""
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise WeComSignatureError("msg_signature mismatch")
        self._check_timestamp(timestamp, time.time() if now is None else now)

    def _check_timestamp(self, timestamp: str, now: float) -> None:
        if self._skew <= 0:
            return
        try:
            sent = int(timestamp)
        except ValueError:
            raise WeComTimestampError("timestamp is not an integer") from None
        if abs(now - sent) > self._skew:
            raise WeComTimestampError(f"timestamp off by {int(now - sent)} s")

    def decrypt(self, encrypted: str) -> str:
        """Ciphertext (base64) -> msg, after checking padding, length and receiveid."""
        plain = _unpad(self._aes_decrypt(encrypted))
        if len(plain) < 20:
            raise WeComDecryptError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise WeComDecryptError("message length exceeds plaintext")
        message, receiver = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(receiver, self._receive_id.encode()):
            raise WeComReceiverError("receiveid does not match")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise WeComDecryptError("message is not UTF-8") from None

    def _aes_decrypt(self, encrypted: str) -> bytes:
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise WeComDecryptError("ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise WeComDecryptError("ciphertext is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        return decryptor.update(data) + decryptor.finalize()

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        """msg -> base64 ciphertext, as WeCom produces it (``random16`` fixed only in tests)."""
        prefix = os.urandom(16) if random16 is None else random16
        raw = message.encode()
        plain = prefix + struct.pack(">I", len(raw)) + raw + self._receive_id.encode()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """msg_signature for our own encrypted output (passive replies, the fake platform)."""
        return signature(self._token, timestamp, nonce, encrypted)

    def encrypt_reply(self, message: str, timestamp: str, nonce: str) -> str:
        """A passive reply body: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        encrypted = self.encrypt(message)
        sig = self.sign(timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise WeComDecryptError("bad PKCS#7 padding (wrong key?)")
    return data[:-amount]
