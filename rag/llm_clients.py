"""LLM clients built from ``settings.llm``: an OpenAI-compatible server (``OpenAILike``), Ollama, or a
local GGUF file through llama.cpp (``LlamaCPP``), all llama-index LLMs (llama-index's global ``Settings`` is
never touched). Each builder checks that its LLM can be used before returning it, so a configured LLM that
cannot be reached fails when the engine opens, with a message that names the URL or path and what to do."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rag import prompts
from store.errors import ConfigError, LLMUnavailableError

LLAMACPP_CONTEXT = 4096  # tokens of context for a local GGUF model: prompt (~2.5k with 12 items) + reply
SERVER_CONTEXT_WINDOW = 8192  # what llama-index assumes a server model holds; the prompt stays well under it
PROBE_TIMEOUT_S = 10.0  # most time the reachability probe at start may take, whatever llm.timeout_s says


def _http_get(url: str, timeout: float, headers: dict | None = None):
    import httpx

    return httpx.get(url, timeout=timeout, headers=headers or {}, follow_redirects=True)


def _unreachable(what: str, url: str, err: Exception, fix: str) -> LLMUnavailableError:
    reason = type(err).__name__ + (f": {err}" if str(err) else "")
    return LLMUnavailableError(f"Cannot reach the {what} at {url} ({reason}). {fix}")


ALTERNATIVE = ("or answer without an LLM: set synthesis.synthesizer to \"extractive\" "
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
        r = _http_get(url, min(s.timeout_s, PROBE_TIMEOUT_S), {"Authorization": f"Bearer {key}"} if key else None)
    except Exception as e:  # noqa: BLE001 - any transport failure means the server cannot be used
        raise _unreachable("OpenAI-compatible LLM server", url, e,
                           f"Start the server, or fix llm.base_url (INQUIRE_LLM__BASE_URL; it ends in /v1), {ALTERNATIVE}"
                           ) from e
    if r.status_code in (401, 403):
        raise LLMUnavailableError(f"The LLM server at {base} refused the request (HTTP {r.status_code} on {url}): "
                                  f"put its API key in the environment variable {s.api_key_env}.")
    if r.status_code >= 400:
        raise LLMUnavailableError(f"The LLM server at {base} answered HTTP {r.status_code} on {url}: is this an "
                                  f"OpenAI-compatible server, and does llm.base_url end in /v1? {ALTERNATIVE}")
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as e:
        raise ConfigError("The OpenAI-compatible client is not installed: `pip install 'inquire[llm]'`.") from e
    llm = OpenAILike(model=model, api_base=base, api_key=key or "not-needed", is_chat_model=True,
                     timeout=s.timeout_s, max_retries=0, temperature=s.temperature, max_tokens=s.max_tokens,
                     context_window=SERVER_CONTEXT_WINDOW)
    return llm, model


def _build_ollama(s) -> tuple[object, str]:
    base = _require(s.base_url, "base_url", "http://127.0.0.1:11434", "ollama").rstrip("/")
    model = _require(s.model, "model", "llama3.1:8b", "ollama")
    url = f"{base}/api/tags"
    try:
        r = _http_get(url, min(s.timeout_s, PROBE_TIMEOUT_S))
        r.raise_for_status()
        names = {m.get("name") or m.get("model") for m in r.json().get("models", [])}
    except Exception as e:  # noqa: BLE001
        raise _unreachable("Ollama server", url, e, f"Start Ollama (`ollama serve`) or fix llm.base_url, {ALTERNATIVE}") from e
    if names and model not in names and f"{model}:latest" not in names:
        raise LLMUnavailableError(f"Ollama at {base} does not have the model {model!r} (it has: "
                                  f"{', '.join(sorted(n for n in names if n)) or 'none'}): run `ollama pull {model}`.")
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError as e:
        raise ConfigError("The Ollama client is not installed: `pip install 'inquire[llm]'`.") from e
    llm = Ollama(model=model, base_url=base, request_timeout=s.timeout_s, json_mode=True, temperature=s.temperature,
                 context_window=SERVER_CONTEXT_WINDOW, additional_kwargs={"num_predict": s.max_tokens})
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
                                  f"local .gguf file, {ALTERNATIVE}")
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
                                  f"GGUF file this llama-cpp-python can read? {ALTERNATIVE}") from e
    return llm, path.name


BUILDERS = {"openai": _build_openai, "ollama": _build_ollama, "llamacpp": _build_llamacpp}


def is_timeout(e: BaseException) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout", "TimeoutError",
                         "Timeout"}) or "timed out" in str(e).lower()




def build_llm(s) -> tuple[object, str]:
    """(the llama-index LLM, its model's name) for ``settings.llm``; raises if it cannot be used."""
    if s.provider not in BUILDERS:
        raise ConfigError(f"llm.provider {s.provider!r} is not one of: {', '.join(BUILDERS)}.")
    return BUILDERS[s.provider](s)


def where(s) -> str:
    """The URL or file the LLM is reached at, for messages."""
    return s.model if s.provider == "llamacpp" else s.base_url


def failure(s, e: BaseException) -> LLMUnavailableError:
    """One clear error for any failure of a call to the LLM."""
    if is_timeout(e):
        return LLMUnavailableError(
            f"The LLM ({s.provider} at {where(s)}) did not answer within {s.timeout_s:g} s. Try again, raise "
            f"llm.timeout_s (INQUIRE_LLM__TIMEOUT_S), lower llm.max_tokens, or use a faster model; {ALTERNATIVE}")
    return LLMUnavailableError(f"The LLM ({s.provider} at {where(s)}) failed: {type(e).__name__}: {e}. "
                               f"Check that it is running and serves the model {s.model!r}; {ALTERNATIVE}")
