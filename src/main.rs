//! The `m365-defender` executable. Everything lives in the library; this only hands over the
//! process arguments and turns the outcome into an exit status.

fn main() -> std::process::ExitCode {
    m365_defender::cli::main(std::env::args_os().skip(1))
}
