//! m365-defender: a one-shot integration between security orchestration platforms and
//! Microsoft 365 Defender. The platform hands one command envelope on stdin; the library turns it
//! into one output document on stdout.
pub mod emulator;
