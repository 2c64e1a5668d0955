"""``orderbot intent "TEXT"`` and ``orderbot intent --file F.jsonl``: a message as the bot reads it.

One JSON line per message (``ensure_ascii=False``): ``intent``, ``secondary``, ``confidence``,
``entities`` (``order_no``, ``tracking_no``, ``phone``, ``new_address``, ``products``, plus the full
lists), and ``retracted`` / ``ask_back`` (why the bot would ask instead of acting, from
``[intent] ask_back_below``). With ``--file`` every line of the file is ``{"text": ...}``; a line
that is not (bad JSON, no string ``text``) prints ``{"line": N, "error": ...}`` in its place, the
rest go on, and the exit code is 1 at the end. Blank lines are skipped.

The extractor is the one the service uses (``core.intent``), loaded once for the whole file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from core.intent import ask_back, extract, result_json

EXIT_OK, EXIT_BAD_LINE, EXIT_USAGE = 0, 1, 2


def intent_line(text: str, threshold: float) -> dict[str, Any]:
    result = extract(text)
    line = result_json(result)
    line["ask_back"] = ask_back(result, threshold)
    return line


def intent_command(text: str | None, path: str | None, threshold: float, stdin: TextIO,
                   stdout: TextIO, stderr: TextIO) -> int:
    """Print the reading of ``text``, or of every ``{"text": ...}`` line of ``path``."""
    if (text is None) == (path is None):
        print("orderbot intent: give either TEXT or --file F.jsonl", file=stderr)
        return EXIT_USAGE
    if text is not None:
        _emit(intent_line(text, threshold), stdout)
        return EXIT_OK
    assert path is not None
    try:
        source = stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        print(f"orderbot intent: cannot read {path}: {error.strerror}", file=stderr)
        return EXIT_USAGE
    try:
        return _lines(source, threshold, stdout, stderr)
    finally:
        if source is not stdin:
            source.close()


def _lines(lines: Iterable[str], threshold: float, stdout: TextIO, stderr: TextIO) -> int:
    status = EXIT_OK
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        text, problem = _text_of(raw)
        if problem is not None:
            status = EXIT_BAD_LINE
            print(f"orderbot intent: line {number}: {problem}", file=stderr)
            _emit({"line": number, "error": problem}, stdout)
            continue
        assert text is not None
        _emit(intent_line(text, threshold), stdout)
    return status


def _text_of(raw: str) -> tuple[str | None, str | None]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        return None, f"not JSON ({error.msg} at column {error.colno})"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return None, 'expected an object with a string "text"'
    return record["text"], None


def _emit(line: dict[str, Any], stdout: TextIO) -> None:
    stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    stdout.flush()
