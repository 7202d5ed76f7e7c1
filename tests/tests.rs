//! The integration tests: one binary, run against the real executable and the emulator.

mod cli;
mod contract_files;
mod emulated;
mod emulator;
mod fetch;
mod fuzz_envelope;
mod incidents;
mod mirroring;
mod number_arguments;
mod replay;
mod sign_in;
mod support;
