"""微信小店 message push: signature check and AES decryption; API auth by access_token.

Scheme (微信小店/视频号小店 消息推送 document, https://developers.weixin.qq.com/doc/channels/
dev_before/base/message_push.md; 视频号小店 allows only 安全模式 and JSON): the POST body is
``{"ToUserName": ..., "Encrypt": base64}``; the query string carries ``timestamp``, ``nonce`` and
``msg_signature`` = sha1 of the sorted, concatenated [Token, timestamp, nonce, Encrypt].
Decryption: AES-256-CBC, key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes,
PKCS#7 padding to 32 bytes; plaintext = 16 random bytes + 4-byte big-endian length + message +
the receiving appid.

``verify_webhook`` reads the signature inputs from ``WebhookRequest.query`` (WeChat sends them
in the URL, not in headers). ``secret`` is ``"TOKEN:ENCODING_AES_KEY"`` or
``"TOKEN:ENCODING_AES_KEY:APPID"`` (then the appid inside the plaintext must match).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from integrations.channels.base import ChannelPayloadError, WebhookRequest


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str = "") -> str:
    """sha1 hex of the sorted parts (without ``encrypt`` it is the URL-verification signature)."""
    parts = sorted(p for p in (token, timestamp, nonce, encrypt) if p)
    return hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeChat protocol)


def split_secret(secret: str) -> tuple[str, bytes, str | None]:
    token, _, rest = secret.partition(":")
    aes_key_text, _, appid = rest.partition(":")
    if not token or len(aes_key_text) != 43:
        raise ValueError("wechat_shop secret must be 'TOKEN:ENCODING_AES_KEY[:APPID]'")
    return token, base64.b64decode(aes_key_text + "="), appid or None


def decrypt(encrypt: str, aes_key: bytes) -> tuple[bytes, str]:
    """Ciphertext -> (message, receiving appid). Raises ``ChannelPayloadError`` if malformed."""
    try:
        raw = base64.b64decode(encrypt, validate=True)
        decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
    except (binascii.Error, ValueError) as error:
        raise ChannelPayloadError(f"$.Encrypt: cannot decrypt: {error}") from None
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= 32:
        raise ChannelPayloadError("$.Encrypt: bad padding")
    body = plain[16:-pad]
    (length,) = struct.unpack(">I", body[:4])
    return body[4:4 + length], body[4 + length:].decode("utf-8", "replace")


def encrypt(message: bytes, aes_key: bytes, appid: str, random16: bytes) -> str:
    """The inverse of ``decrypt`` (used by the fake platform and tests)."""
    body = random16 + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def decrypt_push(request: WebhookRequest, secret: str) -> bytes:
    """Verify and decrypt a push; returns the plaintext JSON message. Raises on any failure."""
    if not verify_webhook(request, secret):
        raise ChannelPayloadError("wechat_shop push: signature check failed")
    _, aes_key, _ = split_secret(secret)
    return decrypt(_encrypt_field(request.body) or "", aes_key)[0]


def verify_webhook(request: WebhookRequest, secret: str) -> bool:
    """True when ``msg_signature`` matches and the ciphertext decrypts for our app."""
    token, aes_key, appid = split_secret(secret)
    q = request.query
    cipher = _encrypt_field(request.body)
    if cipher is None or not all(k in q for k in ("msg_signature", "timestamp", "nonce")):
        return False
    expected = msg_signature(token, q["timestamp"], q["nonce"], cipher)
    if not hmac.compare_digest(expected, q["msg_signature"].lower()):
        return False
    try:
        _, receiver = decrypt(cipher, aes_key)
    except ChannelPayloadError:
        return False
    return appid is None or hmac.compare_digest(receiver, appid)


def _encrypt_field(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = doc.get("Encrypt") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def sign_request(access_token: str) -> dict[str, str]:
    """Query parameters of every 微信小店 API call: the access_token (no per-call signature)."""
    if not access_token:
        raise ChannelPayloadError("wechat_shop: an access_token is required")
    return {"access_token": access_token}
