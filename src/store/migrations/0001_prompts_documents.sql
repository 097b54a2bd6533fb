-- Prompt versions: append-only; a version is never overwritten.
CREATE TABLE prompt_versions (
    template            TEXT    NOT NULL,
    version             TEXT    NOT NULL,
    source              TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    max_output_tokens   INTEGER NOT NULL,
    format              TEXT    NOT NULL,   -- JSON: {"type":"text"} or {"type":"json","schema":...}
    retrieval           INTEGER NOT NULL,   -- 1 when the template takes retrieved context
    created_at          INTEGER NOT NULL,   -- unix seconds
    origin              TEXT    NOT NULL,   -- builtin | config | admin
    PRIMARY KEY (template, version)
);

-- Admin decisions about prompts (active versions, experiment rollouts), newest wins per key.
CREATE TABLE prompt_state (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,           -- JSON
    updated_at  INTEGER NOT NULL
);

-- Retrieval documents and their chunks; a chunk's embedding is 384 little-endian f32.
CREATE TABLE documents (
    id          TEXT    PRIMARY KEY,
    metadata    TEXT    NOT NULL,           -- JSON object
    text        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE chunks (
    document_id TEXT    NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    start       INTEGER NOT NULL,           -- char offsets into the document text
    end         INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    embedding   BLOB,
    PRIMARY KEY (document_id, idx)
);
