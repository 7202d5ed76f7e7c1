//! The integration tests: one binary, run against the real executable.

mod cli;
mod replay;
mod contract_files;
mod support;
