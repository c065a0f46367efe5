"""The one exception tree of Coda, on the ground floor so that every floor (index, agent, app)
raises from it.

Library code raises these; only the edges (the CLI and the Streamlit app) turn
them into a message for a person.

    CodaError
    ├── SourceError          a code-system source file is missing, corrupt or foreign
    ├── IndexNotBuilt        the store for a system/release has not been built yet
    ├── IndexUnavailable     the Chroma server holding the vectors is misnamed or does not answer
    ├── UnknownCode          a code that is not in the code system
    ├── EmptyQuery           a search with nothing to search for
    ├── NoteError            a clinical note that cannot be read as text
    ├── ReasonerError        a reasoner (for example an LLM endpoint) failed
    ├── DataError            a corpus, rule file, profile or case store is missing or malformed
    └── ReviewError          a coder's request on a case cannot be carried out
        ├── CaseNotFound     no such case, or no such code on the case
        ├── DecisionRefused  the request is incomplete or the case's state does not allow it
        └── ExportError      the claim cannot be exported in the form asked for
"""

from __future__ import annotations


class CodaError(Exception):
    """Base of every error Coda raises on purpose."""


class SourceError(CodaError):
    """A code-system source (XML, CSV, zip, package) cannot be loaded."""


class IndexNotBuilt(CodaError):
    """The store for the requested system and release does not exist."""


class IndexUnavailable(CodaError):
    """The Chroma server that holds the code vectors is misnamed or cannot be reached."""


class UnknownCode(CodaError):
    """The code is not part of the code system."""


class EmptyQuery(CodaError):
    """A search was asked for with an empty query."""


class NoteError(CodaError):
    """A clinical note cannot be read as text (binary, empty, undecodable)."""


class ReasonerError(CodaError):
    """A reasoner failed to produce a result."""


class DataError(CodaError):
    """A corpus of coded notes, a rule file, a profile or a case store is missing or malformed."""


class ReviewError(CodaError):
    """A coder's request on a case cannot be carried out; nothing was changed."""


class CaseNotFound(ReviewError):
    """No case with that id, or no such code among the case's codes."""


class DecisionRefused(ReviewError):
    """A decision that is incomplete (no reason, no coder) or that the case's state forbids."""


class ExportError(ReviewError):
    """The claim cannot be exported in the form asked for (no codes, no principal, too many codes)."""


class AccountError(ReviewError):
    """A sign-in is refused (wrong name or password, a locked or disabled account), or an account
    request cannot be done (a name taken, an unknown role, a password too short)."""
