"""Readable text from an LLM's JSON reply while it streams in (for the page)."""

from __future__ import annotations


class ProseStream:
    """Turns the JSON reply, as it streams in, into readable text: the framing, each sentence and the
    takeaway as they are written (paragraphs separated by blank lines), without keys, brackets or
    citation numbers. A reply that does not start as JSON passes through as it is."""

    _EMIT = {"framing", "text", "takeaway"}
    _ESC = {"n": "\n", "t": " ", "r": "", "b": "", "f": "", '"': '"', "\\": "\\", "/": "/"}

    def __init__(self) -> None:
        self.mode = ""  # "" undecided, "json", "raw", "fence" (skipping a ``` line)
        self.in_str = self.esc = self.emitting = self.value = False
        self.uni: str | None = None
        self.key = self.buf = ""
        self.sep = ""
        self.started = False

    def feed(self, chunk: str) -> str:
        out: list[str] = []
        for ch in chunk:
            if self.mode == "raw":
                out.append(ch)
            elif self.mode == "fence":
                if ch == "\n":
                    self.mode = ""
            elif self.mode == "":
                if ch.isspace():
                    continue
                self.mode = "json" if ch == "{" else "fence" if ch == "`" else "raw"
                if self.mode == "raw":
                    out.append(ch)
            else:
                self._json(ch, out)
        return "".join(out)

    def _json(self, ch: str, out: list[str]) -> None:
        if self.in_str:
            if self.uni is not None:
                self.uni += ch
                if len(self.uni) == 4:
                    try:
                        self._char(chr(int(self.uni, 16)), out)
                    except ValueError:
                        pass
                    self.uni = None
            elif self.esc:
                self.esc = False
                if ch == "u":
                    self.uni = ""
                else:
                    self._char(self._ESC.get(ch, ch), out)
            elif ch == "\\":
                self.esc = True
            elif ch == '"':
                self.in_str = False
                if not self.value:
                    self.key = self.buf
                    if self.key in ("sentences", "takeaway") and self.started:
                        self.sep = "\n\n"
                elif self.emitting:
                    self.sep = self.sep or " "
                self.emitting = False
            else:
                self._char(ch, out)
        elif ch == '"':
            self.in_str, self.buf = True, ""
            self.emitting = self.value and self.key in self._EMIT
        elif ch == ":":
            self.value = True
        elif ch in ",{}[]":
            self.value = ch == "[" and self.key == "sentences"  # sentences given as plain strings
            if ch == "[" and self.key == "sentences":
                self.key = "text"

    def _char(self, c: str, out: list[str]) -> None:
        if self.emitting:
            if self.sep:
                out.append(self.sep)
                self.sep = ""
            out.append(c)
            self.started = True
        else:
            self.buf += c
