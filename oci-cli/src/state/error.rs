//! Why a state-directory operation failed: a variant per step, with the
//! container id or path it concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "invalid container id \"{0}\": an id is letters, digits and _ + . - (not \".\" or \"..\")"
    )]
    BadId(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("state root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("container directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("locking {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("renaming {from} to {to}: {source}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {path}: {source}")]
    ReadRecord {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    ParseRecord {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("encoding the record of {id}: {source}")]
    EncodeRecord {
        id: String,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    WriteRecord {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("removing {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}
