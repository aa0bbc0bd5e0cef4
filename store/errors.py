"""The error tree (kept in the bottom layer so every layer can raise it; `rag.errors` re-exports it).

Every message says what happened and what to do about it.

Front ends turn these into a one-line message (CLI: non-zero exit; page: ``st.error``).
"""

from __future__ import annotations


class InquireError(Exception):
    """Base class: an error a user can act on. ``str(err)`` is the message to show."""


class ConfigError(InquireError):
    """A setting is invalid or a configured part cannot be used."""


class IndexMissingError(InquireError):
    """No index at the given directory."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(
            f"No index at {index_dir}. Build one first: `inquire ingest PATH --index {index_dir}` "
            "(for the demo notes: `inquire ingest examples/notes`)."
        )


class IndexMismatchError(InquireError):
    """The index was built with settings that affect vectors and differ from the current ones."""


class IndexBusyError(InquireError):
    """Another ingest holds the index's write lock."""


class LLMUnavailableError(InquireError):
    """A configured LLM cannot be reached or loaded."""


class InputError(InquireError):
    """A question or input file is malformed."""


class IndexDamagedError(InquireError):
    """The index's parts disagree or one is missing or unreadable; the message names the part and the
    one command that repairs it (usually `inquire ingest PATH --rebuild`)."""


class StoreUnavailableError(InquireError):
    """The vector store (a Chroma server, usually) cannot be reached or failed mid-operation."""
