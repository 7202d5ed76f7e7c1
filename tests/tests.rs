//! The integration tests: one binary, run against the real executable.

mod cli;
mod contract_files;
mod emulated;
mod fetch;
mod support;
