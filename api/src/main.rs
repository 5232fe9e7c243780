//! `volley`: load testing with WebAssembly scenarios.

fn main() -> std::process::ExitCode {
    volley::cli::main()
}
