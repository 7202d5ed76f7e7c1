//! The integration tests: one binary, run against the real executable and the emulator.

mod cli;
mod contract_files;
mod emulated;
mod emulator;
mod fetch;
mod fuzz_envelope;
mod hardening;
mod hostile;
mod incidents;
mod memory;
mod mirroring;
mod number_arguments;
mod observability;
mod paging;
mod replay;
mod shim;
mod sign_in;
mod support;
