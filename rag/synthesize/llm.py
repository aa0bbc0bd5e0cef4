"""The LLM synthesizer: an LLM writes the inquiring line from numbered evidence; every sentence it
writes is then checked against the evidence it cites (``rag.verify``).

The client is a llama-index LLM built here from ``settings.llm`` (llama-index's global ``Settings``
is never touched): an OpenAI-compatible server (``OpenAILike``), Ollama, or a local GGUF file through
llama.cpp (``LlamaCPP``). It is checked at construction, so a configured LLM that cannot be reached
fails when the engine opens, with a message that names the URL or path and what to do.

What the LLM writes is taken only as far as it can be checked:
  * its reply must be JSON in the shape the prompt asks for; an unusable reply is answered once with
    a short repair prompt, and a second unusable one makes the answer fall back, visibly, to the
    extractive synthesizer (``meta["synthesizer"]`` says so; ``meta["dropped_sentences"]`` says why);
  * citations are evidence numbers, mapped here to note ids; a number that was not given is an
    invented citation and is removed (and recorded);
  * sentences are verified against the cited evidence; unsupported findings are dropped (recorded).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag import prompts
from rag.answer import Paragraph, Sentence
from rag.evidence import split_sentences
from rag.synthesize import Context, Draft
from rag.verify import verify
from store.errors import ConfigError, LLMUnavailableError

MAX_ITEMS = 12  # numbered evidence items in one prompt
MAX_EXTRA = 4  # of which at most this many come from the pool beyond the selected evidence
LLAMACPP_CONTEXT = 4096


@dataclass
class Item:
    n: int
    note_id: str
    title: str
    text: str
    passage: str


class InvalidReply(ValueError):
    """The LLM's reply is not JSON of the asked-for shape."""


# --------------------------------------------------------------------------- parsing
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def extract_json(reply: str) -> dict:
    """The first JSON object in ``reply``: code fences stripped, prose around it ignored, trailing
    commas forgiven. Raises ``InvalidReply``."""
    text = (reply or "").strip()
    if not text:
        raise InvalidReply("the reply was empty")
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    dec = json.JSONDecoder()
    err = "no JSON object found"
    for t in candidates:
        for m in re.finditer(r"\{", t):
            chunk = t[m.start():]
            for attempt in (chunk, _TRAILING_COMMA.sub(r"\1", chunk)):
                try:
                    obj, _ = dec.raw_decode(attempt)
                except json.JSONDecodeError as e:
                    err = f"invalid JSON ({e.msg} at line {e.lineno} column {e.colno})"
                    continue
                if isinstance(obj, dict):
                    return obj
            break  # only the first '{' of each candidate: a later one is inside the same broken object
    raise InvalidReply(err)


def _has_words(text: str) -> bool:
    """More than a placeholder: at least two words of letters outside <angle brackets>."""
    return len(re.findall(r"[^\W\d_]{2,}", re.sub(r"<[^>]*>", " ", text))) >= 2


def _cite_numbers(raw) -> list:
    """Citation entries as ints where they are numbers ("1", "[1]", 1.0), else as given (invalid)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out: list = []
    for c in raw:
        if isinstance(c, bool):
            out.append(c)
        elif isinstance(c, int):
            out.append(c)
        elif isinstance(c, float) and c.is_integer():
            out.append(int(c))
        elif isinstance(c, str) and re.fullmatch(r"\s*\[?\s*\d+\s*\]?\s*", c):
            out.append(int(re.sub(r"\D", "", c)))
        elif isinstance(c, str) and re.fullmatch(r"[\d\s,;\[\]]+", c):
            out += [int(x) for x in re.findall(r"\d+", c)]
        else:
            out.append(c)
    return out


def _inline(text: str) -> tuple[str, list[int]]:
    """Text with inline markers like "[1]" / "[2, 3]" removed, and the numbers they held."""
    nums = [int(x) for m in _MARKER.finditer(text) for x in re.findall(r"\d+", m.group(1))]
    clean = _MARKER.sub("", text)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return " ".join(clean.split()), nums


def _sentences(p) -> list[tuple[str, list]]:
    if isinstance(p, dict):
        p = p.get("sentences", p.get("text", []))
    if isinstance(p, str):
        p = split_sentences(p)
    if not isinstance(p, list):
        raise InvalidReply("a paragraph is neither an object with \"sentences\" nor a list")
    out = []
    for s in p:
        if isinstance(s, str):
            text, cites = s, []
        elif isinstance(s, dict):
            text = s.get("text", s.get("sentence", ""))
            cites = _cite_numbers(s.get("cites", s.get("citations", [])))
            if not isinstance(text, str):
                raise InvalidReply("a sentence's \"text\" is not a string")
        else:
            raise InvalidReply("a sentence is neither an object nor a string")
        text, inline = _inline(text)
        if re.search(r"[^\W\d_]", re.sub(r"<[^>]*>", "", text)):  # "..." or "<a finding>" is no sentence
            out.append((text, cites + [n for n in inline if n not in cites]))
    return out


def parse_reply(obj: dict) -> tuple[str, list[list[tuple[str, list]]], str, list]:
    """(framing, paragraphs as lists of (text, raw cites), takeaway, takeaway cites). Raises InvalidReply."""
    paras = obj.get("paragraphs")
    if not isinstance(paras, list) or not paras:
        raise InvalidReply("the JSON has no \"paragraphs\" list")
    paragraphs = [s for s in (_sentences(p) for p in paras) if s]
    if not paragraphs:
        raise InvalidReply("the paragraphs hold no sentences")
    framing = obj.get("framing") if isinstance(obj.get("framing"), str) else ""
    takeaway = obj.get("takeaway") if isinstance(obj.get("takeaway"), str) else ""
    framing, _ = _inline(framing)
    takeaway, tk = _inline(takeaway)
    tk = _cite_numbers(obj.get("takeaway_cites", [])) + tk
    return framing, paragraphs, takeaway, tk


# --------------------------------------------------------------------------- clients
def _http_get(url: str, timeout: float, headers: dict | None = None):
    import httpx

    return httpx.get(url, timeout=timeout, headers=headers or {}, follow_redirects=True)


def _unreachable(what: str, url: str, err: Exception, fix: str) -> LLMUnavailableError:
    reason = type(err).__name__ + (f": {err}" if str(err) else "")
    return LLMUnavailableError(f"Cannot reach the {what} at {url} ({reason}). {fix}")


_ALT = ("or answer without an LLM: set synthesis.synthesizer to \"extractive\" "
        "(INQUIRE_SYNTHESIS__SYNTHESIZER=extractive).")


def _require(value: str, field: str, example: str, provider: str) -> str:
    if not value or not value.strip():
        env = f"INQUIRE_LLM__{field.upper()}"
        raise ConfigError(f"llm.{field} is not set, and provider {provider!r} needs it: set it in the settings "
                          f"or as {env} (e.g. {env}={example}).")
    return value.strip()


def _build_openai(s) -> tuple[object, str]:
    base = _require(s.base_url, "base_url", "http://127.0.0.1:8000/v1", "openai").rstrip("/")
    model = _require(s.model, "model", "qwen2.5-7b-instruct", "openai")
    key = os.environ.get(s.api_key_env) if s.api_key_env else None
    url = f"{base}/models"
    try:
        r = _http_get(url, min(s.timeout_s, 10.0), {"Authorization": f"Bearer {key}"} if key else None)
    except Exception as e:  # noqa: BLE001 - any transport failure means the server cannot be used
        raise _unreachable("OpenAI-compatible LLM server", url, e,
                           f"Start the server, or fix llm.base_url (INQUIRE_LLM__BASE_URL; it ends in /v1), {_ALT}"
                           ) from e
    if r.status_code in (401, 403):
        raise LLMUnavailableError(f"The LLM server at {base} refused the request (HTTP {r.status_code} on {url}): "
                                  f"put its API key in the environment variable {s.api_key_env}.")
    if r.status_code >= 400:
        raise LLMUnavailableError(f"The LLM server at {base} answered HTTP {r.status_code} on {url}: is this an "
                                  f"OpenAI-compatible server, and does llm.base_url end in /v1? {_ALT}")
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as e:
        raise ConfigError("The OpenAI-compatible client is not installed: `pip install 'inquire[llm]'`.") from e
    llm = OpenAILike(model=model, api_base=base, api_key=key or "not-needed", is_chat_model=True,
                     timeout=s.timeout_s, max_retries=0, temperature=s.temperature, max_tokens=s.max_tokens,
                     context_window=8192)
    return llm, model


def _build_ollama(s) -> tuple[object, str]:
    base = _require(s.base_url, "base_url", "http://127.0.0.1:11434", "ollama").rstrip("/")
    model = _require(s.model, "model", "llama3.1:8b", "ollama")
    url = f"{base}/api/tags"
    try:
        r = _http_get(url, min(s.timeout_s, 10.0))
        r.raise_for_status()
        names = {m.get("name") or m.get("model") for m in r.json().get("models", [])}
    except Exception as e:  # noqa: BLE001
        raise _unreachable("Ollama server", url, e, f"Start Ollama (`ollama serve`) or fix llm.base_url, {_ALT}") from e
    if names and model not in names and f"{model}:latest" not in names:
        raise LLMUnavailableError(f"Ollama at {base} does not have the model {model!r} (it has: "
                                  f"{', '.join(sorted(n for n in names if n)) or 'none'}): run `ollama pull {model}`.")
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError as e:
        raise ConfigError("The Ollama client is not installed: `pip install 'inquire[llm]'`.") from e
    llm = Ollama(model=model, base_url=base, request_timeout=s.timeout_s, json_mode=True, temperature=s.temperature,
                 context_window=8192, additional_kwargs={"num_predict": s.max_tokens})
    return llm, model


def _chat_formatter(model) -> tuple[object, list[str]]:
    """messages_to_prompt for a loaded llama.cpp model, from the chat template its GGUF carries
    (ChatML when it has none), and the stop strings that end a reply."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    meta = getattr(model, "metadata", {}) or {}
    template = meta.get("tokenizer.chat_template")

    def tok(key: str) -> str:
        i = meta.get(key)
        try:
            return model._model.token_get_text(int(i)) if i is not None else ""
        except Exception:  # noqa: BLE001
            return ""

    eos, bos = tok("tokenizer.ggml.eos_token_id"), tok("tokenizer.ggml.bos_token_id")
    if not template:
        template = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
                    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
        eos = eos or "<|im_end|>"
    fmt = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def messages_to_prompt(messages) -> str:
        msgs = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        return fmt(messages=msgs).prompt

    return messages_to_prompt, [e for e in {eos, "<|im_end|>", "<|eot_id|>", "<|end|>"} if e]


def _build_llamacpp(s) -> tuple[object, str]:
    path = Path(_require(s.model, "model", "/path/to/model.gguf", "llamacpp")).expanduser()
    try:
        from llama_cpp import LlamaGrammar
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as e:
        raise ConfigError("The llama.cpp client is not installed: `pip install 'inquire[llamacpp]'` "
                          "(llama-cpp-python compiles llama.cpp on install).") from e
    if not path.is_file():
        raise LLMUnavailableError(f"No GGUF model file at {path}: set llm.model (INQUIRE_LLM__MODEL) to the path of a "
                                  f"local .gguf file, {_ALT}")
    holder: dict = {}
    try:
        grammar = LlamaGrammar.from_json_schema(json.dumps(prompts.ANSWER_SCHEMA), verbose=False)
        llm = LlamaCPP(model_path=str(path), temperature=min(s.temperature, 1.0), max_new_tokens=s.max_tokens,
                       context_window=LLAMACPP_CONTEXT, verbose=False,
                       messages_to_prompt=lambda msgs: holder["fmt"](msgs),
                       generate_kwargs={"grammar": grammar, "repeat_penalty": 1.1})
        holder["fmt"], stops = _chat_formatter(llm._model)
        llm.generate_kwargs["stop"] = stops
    except Exception as e:  # noqa: BLE001 - a file llama.cpp cannot load
        raise LLMUnavailableError(f"llama.cpp could not load the model at {path} ({type(e).__name__}: {e}): is it a "
                                  f"GGUF file this llama-cpp-python can read? {_ALT}") from e
    return llm, path.name


_BUILDERS = {"openai": _build_openai, "ollama": _build_ollama, "llamacpp": _build_llamacpp}


def _is_timeout(e: BaseException) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout", "TimeoutError",
                         "Timeout"}) or "timed out" in str(e).lower()


# --------------------------------------------------------------------------- streaming prose
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


# --------------------------------------------------------------------------- the synthesizer
class LLMSynthesizer:
    name = "llm"

    def __init__(self, settings, embedder, llm=None) -> None:
        self.settings = settings
        self.llm_settings = settings.llm
        self.embedder = embedder
        self.threshold = settings.synthesis.support_threshold
        provider = settings.llm.provider
        if provider not in _BUILDERS:
            raise ConfigError(f"llm.provider {provider!r} is not one of: {', '.join(_BUILDERS)}.")
        if llm is None:
            llm, model_name = _BUILDERS[provider](settings.llm)
        else:
            model_name = settings.llm.model or type(llm).__name__
        self.llm = llm
        self.model_label = f"llm ({provider}: {model_name})"
        self._where = {"openai": settings.llm.base_url, "ollama": settings.llm.base_url,
                       "llamacpp": settings.llm.model}[provider]
        # llama.cpp contexts are not safe to use from two threads at once; servers are
        self._lock = threading.Lock() if provider == "llamacpp" else None
        self._streamed: dict[str, str] = {}  # prompt key -> full reply, of the last few finished streams
        self._cache_lock = threading.Lock()

    # ---------------------------------------------------------------- evidence and prompt
    def number_evidence(self, ctx: Context) -> list[Item]:
        """The selected evidence, plus a few strong unused sentences from the pool (same notes), numbered
        from 1 in reading order (notes in order of their best sentence)."""
        titles = {n["id"]: n.get("title", n["id"]) for n in ctx.notes}
        chosen = list(ctx.evidence)[:MAX_ITEMS]
        seen = {(c.note_id, c.text) for c in chosen}
        floor = min((c.relevance for c in chosen), default=0.0)
        extra = [c for c in ctx.pool if (c.note_id, c.text) not in seen and c.note_id in titles and not c.dangling
                 and not c.linked and c.relevance >= floor]
        extra.sort(key=lambda c: -c.relevance)
        chosen += extra[:max(0, min(MAX_EXTRA, MAX_ITEMS - len(chosen)))]
        first: dict[str, int] = {}
        for i, c in enumerate(chosen):
            first.setdefault(c.note_id, i)
        chosen.sort(key=lambda c: (first[c.note_id], c.position))
        return [Item(i + 1, c.note_id, titles.get(c.note_id, c.note_id), c.text, c.passage or c.text)
                for i, c in enumerate(chosen)]

    def messages(self, ctx: Context, items: Sequence[Item]) -> list:
        from llama_index.core.llms import ChatMessage

        evidence = "\n".join(prompts.render("evidence_item", n=it.n, title=it.title, text=it.text) for it in items)
        user = prompts.render("answer", question=ctx.question, evidence=evidence, numbers=self._numbers(items),
                              framing_lead=prompts.FRAMING_LEAD, takeaway_lead=prompts.TAKEAWAY_LEAD)
        return [ChatMessage(role="system", content=prompts.render("system")), ChatMessage(role="user", content=user)]

    @staticmethod
    def _numbers(items: Sequence[Item]) -> str:
        return f"1 to {len(items)}" if len(items) > 1 else "1"

    @staticmethod
    def _key(messages) -> str:
        return hashlib.sha256(json.dumps([(m.role.value, m.content) for m in messages]).encode()).hexdigest()

    # ---------------------------------------------------------------- calling the LLM
    def _fail(self, e: BaseException) -> LLMUnavailableError:
        s = self.llm_settings
        if _is_timeout(e):
            return LLMUnavailableError(
                f"The LLM ({s.provider} at {self._where}) did not answer within {s.timeout_s:g} s. Try again, raise "
                f"llm.timeout_s (INQUIRE_LLM__TIMEOUT_S), lower llm.max_tokens, or use a faster model; {_ALT}")
        return LLMUnavailableError(f"The LLM ({s.provider} at {self._where}) failed: {type(e).__name__}: {e}. "
                                   f"Check that it is running and serves the model {s.model!r}; {_ALT}")

    def _chat(self, messages) -> str:
        try:
            if self._lock is not None:
                with self._lock:
                    r = self.llm.chat(messages)
            else:
                r = self.llm.chat(messages)
        except Exception as e:  # noqa: BLE001 - every client failure becomes one clear error
            raise self._fail(e) from e
        return r.message.content or ""

    def stream(self, ctx: Context) -> Iterator[str]:
        """The line as the LLM writes it, as readable text (framing, sentences, takeaway; see
        ``ProseStream``), for the page. Unverified: the final, checked Draft comes from ``synthesize``,
        which on the same context reuses the finished reply instead of asking the LLM again."""
        items = self.number_evidence(ctx)
        if not items:
            return
        msgs = self.messages(ctx, items)
        text = ""
        prose = ProseStream()
        with self._lock or _NoLock():
            try:
                for r in self.llm.stream_chat(msgs):
                    if r.delta:
                        text += r.delta
                        shown = prose.feed(r.delta)
                        if shown:
                            yield shown
            except Exception as e:  # noqa: BLE001
                raise self._fail(e) from e
        with self._cache_lock:
            self._streamed[self._key(msgs)] = text
            while len(self._streamed) > 8:
                self._streamed.pop(next(iter(self._streamed)))

    # ---------------------------------------------------------------- synthesize
    def synthesize(self, ctx: Context) -> Draft:
        items = self.number_evidence(ctx)
        if not items:
            return self._fallback(ctx, "no evidence to write from", [])
        msgs = self.messages(ctx, items)
        key = self._key(msgs)
        with self._cache_lock:
            cached = self._streamed.pop(key, None)
        reply = cached if cached is not None else self._chat(msgs)
        dropped: list[dict] = []
        try:
            parsed = parse_reply(extract_json(reply))
        except InvalidReply as first:
            from llama_index.core.llms import ChatMessage

            repair = prompts.render("repair", error=str(first), numbers=self._numbers(items))
            reply2 = self._chat([*msgs, ChatMessage(role="assistant", content=reply[:4000]),
                                 ChatMessage(role="user", content=repair)])
            try:
                parsed = parse_reply(extract_json(reply2))
                dropped.append({"reason": "llm reply repaired", "error": str(first), "text": reply[:500]})
            except InvalidReply as second:
                return self._fallback(ctx, "invalid JSON", [
                    {"reason": "llm returned invalid JSON", "error": str(first), "text": reply[:500]},
                    {"reason": "llm returned invalid JSON after the repair prompt", "error": str(second),
                     "text": reply2[:500]}])
        draft = self._draft(ctx, items, parsed, dropped)
        evidence_by_note: dict[str, list[str]] = {}
        for it in items:
            evidence_by_note.setdefault(it.note_id, [])
            for t in (it.text, it.passage):
                if t not in evidence_by_note[it.note_id]:
                    evidence_by_note[it.note_id].append(t)
        verify(draft, evidence_by_note, self.embedder, self.threshold, question=ctx.question, topics=ctx.themes)
        if not any(s.cites for p in draft.paragraphs for s in p.sentences):
            return self._fallback(ctx, "no supported sentences", draft.dropped)
        return draft

    def _draft(self, ctx: Context, items: Sequence[Item], parsed, dropped: list[dict]) -> Draft:
        framing, paras, takeaway, tk_raw = parsed
        by_n = {it.n: it for it in items}

        def map_cites(text: str, raw: list) -> tuple[list[str], str | None]:
            ids: list[str] = []
            quote = None
            bad = [c for c in raw if not (isinstance(c, int) and not isinstance(c, bool) and c in by_n)]
            for c in raw:
                if c in bad:
                    continue
                it = by_n[c]
                quote = quote or it.passage
                if it.note_id not in ids:
                    ids.append(it.note_id)
            for c in dict.fromkeys(map(str, bad)):
                dropped.append({"text": text, "cites": [c], "score": None,
                                "reason": f"invented citation: [{c}] is not one of the evidence numbers "
                                          f"{self._numbers(items)}"})
            return ids, quote

        paragraphs = []
        for p in paras:
            sents = []
            for text, raw in p:
                ids, quote = map_cites(text, raw)
                sents.append(Sentence(text=text, cites=ids, quote=quote))
            paragraphs.append(Paragraph(sentences=sents))
        from rag.synthesize.extractive import question_clause

        framing = framing.strip()
        if not framing.startswith(prompts.FRAMING_LEAD) or not _has_words(framing[len(prompts.FRAMING_LEAD):]):
            framing = f"{prompts.FRAMING_LEAD} {question_clause(ctx.question)}."
        takeaway = takeaway.strip()
        if takeaway.startswith(prompts.TAKEAWAY_LEAD):
            takeaway = takeaway[len(prompts.TAKEAWAY_LEAD):].strip()
        if not _has_words(takeaway):
            takeaway = "the notes above are the evidence; read them together rather than any one alone."
        tk_ids, _ = map_cites(takeaway, tk_raw)
        return Draft(framing=framing, paragraphs=paragraphs, takeaway=takeaway, takeaway_cites=tk_ids,
                     model=self.model_label, dropped=dropped)

    def _fallback(self, ctx: Context, why: str, dropped: list[dict]) -> Draft:
        """The extractive line, labelled as a fallback with the reason (never silent)."""
        from rag.synthesize.extractive import ExtractiveSynthesizer

        draft = ExtractiveSynthesizer().synthesize(ctx)
        draft.model = f"extractive (llm output rejected: {why})"
        draft.dropped = [*dropped, {"reason": f"llm output rejected: {why}", "model": self.model_label}]
        return draft


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
