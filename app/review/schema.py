"""The SQL schema of the case store and its opening check: an empty file gets the schema, a case
store of this version opens as it is, one of an older version is migrated in place, anything else
is refused with a DataError.

Version 2 adds to version 1 the claim's FHIR references on each case (four nullable columns of
`cases`), the sentences of a note addressed to the software (`non_clinical`) and the Excludes1
pairs a coder keeps (`kept_excludes1`). A version-1 file is migrated in the transaction that opens
it: the columns and tables are added and the version set together, or not at all; nothing
already stored changes. Version 3 adds the accounts that sign in (`users`), and version 4 an
inpatient case's ICD-10-PCS procedures (`case_procedures`). Version 5 adds what an inpatient claim
needs beyond its codes (issue 14): the stay's facts on each case (`ENCOUNTER_COLUMNS`), a present-on-
admission indicator with its reason and evidence on each diagnosis (`POA_COLUMNS`) and the date
each procedure was performed, and the coding API's tokens (`api_tokens`). Version 6 adds the LLM
agent's run behind a case's result (`agent_runs`: its cost, its steps and the transcript that
replays it, issue 16). An older file is
migrated to the current version the same way; the new columns are added last, where a fresh
store has them too.

The store guards its own invariants where SQL can: at most one principal per case, and an audit
trail that is append-only whatever code opens the database.

The same schema serves SQLite and PostgreSQL (`app.review.sql`): the statements keep to what both
read alike, and the few that differ (the audit trail's guard, a byte-wise comparison of codes) are
spelt per database below. A PostgreSQL store starts at the current version; the migrations from
versions 1 and 2 are for the SQLite files written before PostgreSQL was supported, the one from
version 3 for either.
"""

from __future__ import annotations

from app.review.sql import Connection
from index.errors import DataError

SCHEMA_VERSION = 6

# What version 2 adds as tables; `_migrate_v1` also adds the reference columns of `cases`.
V2_TABLES = (
    """CREATE TABLE non_clinical(
        case_id TEXT NOT NULL REFERENCES cases(id),
        position INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        text TEXT NOT NULL,
        why TEXT NOT NULL,
        PRIMARY KEY (case_id, position)
    )""",
    """CREATE TABLE kept_excludes1(
        case_id TEXT NOT NULL REFERENCES cases(id),
        code_a TEXT NOT NULL,
        code_b TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason <> ''),
        CHECK ({code_a_first}),
        PRIMARY KEY (case_id, code_a, code_b)
    )""",
)
REFERENCE_COLUMNS = ("patient_ref", "provider_ref", "insurer_ref", "coverage_ref")
# What version 3 adds: the accounts that sign in (`app.review.accounts`) and the leases that
# let one of them work a case at a time (`app.review.leases`).
V3_TABLES = (
    """CREATE TABLE users(
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('coder', 'auditor', 'admin')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE leases(
        case_id TEXT PRIMARY KEY REFERENCES cases(id),
        username TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
)

# What version 4 adds: an inpatient case's ICD-10-PCS procedures (`app.review.procedures`).
V4_TABLES = (
    """CREATE TABLE case_procedures(
        case_id TEXT NOT NULL REFERENCES cases(id),
        code TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected', 'added')),
        sequence INTEGER NOT NULL,
        principal INTEGER NOT NULL CHECK (principal IN (0, 1)),
        evidence TEXT NOT NULL,
        axes TEXT NOT NULL,
        reasoning TEXT NOT NULL,
        confidence REAL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('agent', 'coder')),
        PRIMARY KEY (case_id, code)
    )""",
    "CREATE UNIQUE INDEX case_procedures_one_principal ON case_procedures(case_id) WHERE principal = 1",
)

# What version 5 adds, as columns: the stay's facts on `cases`, the POA of each diagnosis on
# `case_codes` (indicator NULL: none proposed or set; evidence as JSON) and each procedure's date.
ENCOUNTER_COLUMNS = (
    "age INTEGER",
    "sex TEXT CHECK (sex IN ('F', 'M', 'U'))",
    "discharge_status TEXT",
    "admitted TEXT",
    "discharged TEXT",
    "admitting TEXT",
)
POA_COLUMNS = (
    "poa TEXT CHECK (poa IN ('Y', 'N', 'U', 'W', 'exempt'))",
    "poa_reason TEXT NOT NULL DEFAULT ''",
    "poa_evidence TEXT NOT NULL DEFAULT '[]'",
)
# And, as a table, the coding API's bearer tokens (`app.review.tokens`), kept hashed.
V5_TABLES = (
    """CREATE TABLE api_tokens(
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users(username),
        created_at TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
    )""",
)
V5_COLUMNS = (
    *(("cases", c) for c in ENCOUNTER_COLUMNS),
    *(("case_codes", c) for c in POA_COLUMNS),
    ("case_procedures", "performed_on TEXT"),
)
# What version 6 adds: the LLM agent's run behind a case's current result (none for the offline
# reasoner): the model, its calls and tokens, its steps, and the transcript that replays it.
V6_TABLES = (
    """CREATE TABLE agent_runs(
        case_id TEXT PRIMARY KEY REFERENCES cases(id),
        model TEXT NOT NULL,
        usage TEXT NOT NULL,
        trace TEXT NOT NULL,
        transcript TEXT,
        seconds REAL
    )""",
)

SCHEMA = (
    "CREATE TABLE schema_version(version INTEGER NOT NULL)",
    """CREATE TABLE cases(
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        note TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('new', 'coded', 'in_review', 'done')),
        setting TEXT NOT NULL CHECK (setting IN ('inpatient', 'outpatient')),
        reasoner TEXT NOT NULL,
        profile TEXT,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        patient_ref TEXT,
        provider_ref TEXT,
        insurer_ref TEXT,
        coverage_ref TEXT
    )""",
    """CREATE TABLE case_codes(
        case_id TEXT NOT NULL REFERENCES cases(id),
        code TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected', 'added')),
        sequence INTEGER NOT NULL,
        principal INTEGER NOT NULL CHECK (principal IN (0, 1)),
        evidence TEXT NOT NULL,
        reasoning TEXT NOT NULL,
        confidence REAL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('agent', 'coder')),
        alternatives TEXT NOT NULL,
        PRIMARY KEY (case_id, code)
    )""",
    # The store's own guard for "exactly one principal": never two.
    "CREATE UNIQUE INDEX case_codes_one_principal ON case_codes(case_id) WHERE principal = 1",
    """CREATE TABLE findings(
        case_id TEXT NOT NULL REFERENCES cases(id),
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
        message TEXT NOT NULL,
        codes TEXT NOT NULL,
        PRIMARY KEY (case_id, position)
    )""",
    """CREATE TABLE audit(
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        at TEXT NOT NULL,
        coder TEXT NOT NULL,
        action TEXT NOT NULL,
        code_before TEXT,
        code_after TEXT,
        reason TEXT NOT NULL,
        chain TEXT
    )""",
    "CREATE INDEX audit_case ON audit(case_id, id)",
    *V2_TABLES,
    *V3_TABLES,
    *V4_TABLES,
    *(f"ALTER TABLE {table} ADD COLUMN {column}" for table, column in V5_COLUMNS),
    *V5_TABLES,
    *V6_TABLES,
)
# The audit trail is append-only, whatever code opens the database.
APPEND_ONLY = {
    "sqlite": (
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    ),
    "postgresql": (
        """CREATE FUNCTION coda_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$""",
        """CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
           FOR EACH ROW EXECUTE FUNCTION coda_audit_append_only()""",
        """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
           FOR EACH STATEMENT EXECUTE FUNCTION coda_audit_append_only()""",
    ),
}
# Codes compare byte by byte, whatever the database's collation.
SPELLING = {
    "sqlite": {"code_a_first": "code_a < code_b"},
    "postgresql": {"code_a_first": 'code_a < code_b COLLATE "C"'},
}


def open_schema(conn: Connection, name: str) -> None:
    """Create the schema in an empty database, or check that the database `name` is a case store
    of this version (migrating an older SQLite file). Runs inside the caller's write transaction."""
    tables = conn.tables()
    if not tables:
        for statement in (*SCHEMA, *APPEND_ONLY[conn.dialect]):
            conn.execute(statement.format(**SPELLING[conn.dialect]))
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        return
    if "schema_version" not in tables:
        raise DataError(f"{name} is a database but not a Coda case store (no schema_version table)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is not None and row[0] in (1, 2, 3, 4, 5):
        if row[0] == 1:
            _migrate_v1(conn)
        if row[0] <= 2:
            _migrate_v2(conn)
        if row[0] <= 3:
            for statement in V4_TABLES:  # version 3 to 4: the procedures table
                conn.execute(statement)
        if row[0] <= 4:
            for table, column in V5_COLUMNS:  # version 4 to 5: what an inpatient claim needs
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            for statement in V5_TABLES:  # and the coding API's tokens
                conn.execute(statement)
        for statement in V6_TABLES:  # version 5 to 6: the LLM agent's runs
            conn.execute(statement)
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        return
    if row is None or row[0] != SCHEMA_VERSION:
        found = "none" if row is None else row[0]
        raise DataError(f"the case store {name} has schema version {found}; this Coda reads version {SCHEMA_VERSION}")


def _migrate_v1(conn: Connection) -> None:
    """Version 1 to 2, in the caller's transaction: ALTER TABLE and CREATE TABLE are transactional
    in SQLite, so a failure leaves the file as it was."""
    for column in REFERENCE_COLUMNS:
        conn.execute(f"ALTER TABLE cases ADD COLUMN {column} TEXT")
    for statement in V2_TABLES:
        conn.execute(statement.format(**SPELLING[conn.dialect]))


def _migrate_v2(conn: Connection) -> None:
    """Version 2 to 3, in the caller's transaction: the accounts and leases tables, and the audit
    trail's seal (`app.review.audit_chain`; entries written before carry none)."""
    for statement in V3_TABLES:
        conn.execute(statement)
    conn.execute("ALTER TABLE audit ADD COLUMN chain TEXT")
