//! The binary: everything is `cruddur::run` (src/lib.rs), so that tests and other entry points
//! get the same program.

fn main() -> std::process::ExitCode {
    cruddur::run(std::env::args_os().collect())
}
