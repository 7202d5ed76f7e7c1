//! The integration tests: one binary, run against the real executable.

mod cli;
mod contract_files;
mod emulator;
mod support;
