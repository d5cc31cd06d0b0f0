"""The Console port on a text stream (stderr), so stdout stays clean for results and `auth token`."""

from __future__ import annotations

from typing import TextIO


class StreamConsole:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def say(self, message: str) -> None:
        self._stream.write(message + "\n")
        self._stream.flush()
