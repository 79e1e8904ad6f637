use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    xunjian::cli::main().await
}
