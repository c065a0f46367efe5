"""The one exception tree of Coda.

Library code raises these; only the edges (the CLI and the Streamlit app) turn
them into a message for a person.

    CodaError
    ├── SourceError          a code-system source file is missing, corrupt or foreign
    ├── IndexNotBuilt        the store for a system/release has not been built yet
    ├── UnknownCode          a code that is not in the code system
    ├── EmptyQuery           a search with nothing to search for
    ├── NoteError            a clinical note that cannot be read as text
    ├── ReasonerError        a reasoner (for example an LLM endpoint) failed
    └── DataError            an evaluation or training corpus is missing or malformed
"""

from __future__ import annotations


class CodaError(Exception):
    """Base of every error Coda raises on purpose."""


class SourceError(CodaError):
    """A code-system source (XML, CSV, zip, package) cannot be loaded."""


class IndexNotBuilt(CodaError):
    """The store for the requested system and release does not exist."""


class UnknownCode(CodaError):
    """The code is not part of the code system."""


class EmptyQuery(CodaError):
    """A search was asked for with an empty query."""


class NoteError(CodaError):
    """A clinical note cannot be read as text (binary, empty, undecodable)."""


class ReasonerError(CodaError):
    """A reasoner failed to produce a result."""


class DataError(CodaError):
    """A corpus of coded notes is missing or malformed."""
