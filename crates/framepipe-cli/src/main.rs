//! The `framepipe` binary: [`framepipe_cli::run`] with the process's arguments.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(framepipe_cli::run(std::env::args_os()))
}
