use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = xunjian::cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = cli.runtime_workers() {
        runtime.worker_threads(workers);
    }
    match runtime.build() {
        Ok(runtime) => runtime.block_on(xunjian::cli::main(cli)),
        Err(err) => {
            eprintln!("错误：无法启动异步运行时：{err}");
            ExitCode::FAILURE
        }
    }
}
