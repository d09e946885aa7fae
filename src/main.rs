//! The `keyward` binary: arguments in, the library does the rest.

fn main() -> std::process::ExitCode {
    keyward::cli::main()
}
