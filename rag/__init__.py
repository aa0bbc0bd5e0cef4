"""inquire's engine and public API.

    from rag import Engine, render
    engine = Engine.open(".inquire", create=True)
    engine.ingest(["examples/notes"])
    print(render(engine.ask("Why do models resist having their goals changed?"), "text"))
"""

from rag.answer import InquiringLine, Paragraph, Sentence, Source
from rag.engine import BatchItem, Engine
from rag.errors import (
    ConfigError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    InquireError,
    LLMUnavailableError,
    StoreUnavailableError,
)
from rag.render import render, to_json, to_markdown, to_text
from rag.retrieve import Filters
from rag.settings import Settings

__all__ = [
    "BatchItem", "ConfigError", "Engine", "Filters", "IndexBusyError", "IndexDamagedError", "IndexMismatchError", "IndexMissingError",
    "InputError", "InquireError", "InquiringLine", "LLMUnavailableError", "Paragraph", "Sentence", "Settings",
    "Source", "StoreUnavailableError", "render", "to_json", "to_markdown", "to_text",
]
