//! The integration tests: one binary, run against the real executable and the emulator.

mod cli;
mod contract_files;
mod emulated;
mod emulator;
mod fetch;
mod hardening;
mod hostile;
mod incidents;
mod mirroring;
mod paging;
mod replay;
mod shim;
mod sign_in;
mod support;
