//! Serves the emulator on 127.0.0.1 until stopped, for trying the plugin by hand and for
//! `scripts/bench-incidents.sh`: `cargo run --release --example emulator -- [port] [start-time]`.
//! Prints the base URL on the first line of stdout once it accepts connections.

use m365_defender::emulator::{Emulator, EmulatorOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let start_time = args
        .next()
        .map(|t| t.parse().expect("an RFC 3339 start time"));
    let options = EmulatorOptions {
        start_time,
        ..EmulatorOptions::default()
    };
    let emulator = Emulator::start(options, port).await?;
    println!("{}", emulator.base_url());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
