"""The error tree, re-exported from the bottom layer so that imports only point down."""

from store.errors import (  # noqa: F401
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
