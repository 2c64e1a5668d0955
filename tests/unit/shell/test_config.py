"""Configuration: defaults < TOML < environment; bad values name their key."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_env() -> None:
    config = load_config(None, {})
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.database.url.startswith("sqlite+aiosqlite:///")


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 9000\n[log]\nformat = "json"\n')
    config = load_config(path, {"ORDERBOT_SERVER__PORT": "9100", "ORDERBOT_WECOM__ENABLED": "no"})
    assert (config.server.port, config.log.format, config.wecom.enabled) == (9100, "json", False)


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[server]\nport = \"eighty\"\n", {}, "config: [server] port: expected an integer, got "
                                              "'eighty'"),
        ("", {"ORDERBOT_SERVER__PORT": "x"}, "config: [server] port: expected an integer"),
        ("[server]\nprot = 1\n", {}, "config: unknown key [server] prot"),
        ("[sever]\nport = 1\n", {}, "config: unknown key [sever]"),
        ("", {"ORDERBOT_LOG__LEVEL": "LOUD"}, "config: [log] level: expected one of"),
        ("[server]\nport = 70000\n", {}, "config: [server] port: expected a TCP port"),
        ("[database]\nurl = \"mysql://x\"\n", {}, "config: [database] url: expected"),
        ("[wecom]\nenabled = true\ncorp_id = \"ww1\"\nsecret = \"s\"\ntoken = \"t\"\n", {},
         "config: [wecom] encoding_aes_key: expected the 43-character EncodingAESKey"),
        ("[dingtalk]\nenabled = 1\n", {}, "config: [dingtalk] enabled: expected true or false"),
        ("[wecom_bot]\nenabled = true\nbot_id = \"b\"\n", {},
         "config: [wecom_bot] secret: expected a value when enabled"),
        ("", {"ORDERBOT_WECOM_BOT__ENABLED": "true", "ORDERBOT_WECOM_BOT__BOT_ID": "b",
              "ORDERBOT_WECOM_BOT__SECRET": "s", "ORDERBOT_WECOM_BOT__WS_URL": "https://x"},
         "config: [wecom_bot] ws_url: expected a ws:// or wss:// URL"),
        ("server = 1\n", {}, "config: [server]: expected a table"),
        ("[server\n", {}, "is not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, env: dict[str, str],
                                 message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, toml), env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", {})


def test_example_is_the_defaults() -> None:
    assert load_config(EXAMPLE, {}) == Config()


def test_example_documents_every_key_with_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    example_block = lines.index("# [[shops]]")  # array-of-tables examples are commented out
    lines = lines[:example_block] + [line[2:] if line.startswith("# ") else line
                                     for line in lines[example_block:]]
    documented: set[str] = set()
    section = ""
    for index, line in enumerate(lines):
        if header := re.fullmatch(r"\[\[?(\w+)\]\]?", line):
            section = header.group(1)
        elif key := re.match(r"(?:# )?(\w+) = ", line):  # optional keys are shown commented
            assert lines[index - 1].startswith("#"), f"[{section}] {key.group(1)} has no comment"
            documented.add(f"{section}.{key.group(1)}")
    expected = set()
    for name, cls in typing.get_type_hints(Config).items():
        item = typing.get_args(cls)[0] if typing.get_origin(cls) is tuple else cls
        expected |= {f"{name}.{f.name}" for f in dataclasses.fields(item)}
    assert documented == expected


def test_shops_are_an_array_of_tables(tmp_path: Path) -> None:
    path = write(tmp_path, '[[shops]]\nchannel = "jd"\nshop_id = "a"\n'
                           '[[shops]]\nchannel = "pos"\nshop_id = "b"\npoll = false\n')
    config = load_config(path, {})
    assert [(s.channel, s.shop_id) for s in config.shops] == [("jd", "a"), ("pos", "b")]
    with pytest.raises(ConfigError, match=r"\[shops\[0\]\] channel: expected one of"):
        load_config(write(tmp_path, '[[shops]]\nchannel = "ebay"\nshop_id = "a"\n'), {})
    with pytest.raises(ConfigError, match=r"unknown key \[shops\[0\]\] secret"):
        load_config(write(tmp_path, '[[shops]]\nchannel = "jd"\nsecret = "a"\n'), {})
