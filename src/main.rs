use std::process::ExitCode;

fn main() -> ExitCode {
    license_portal::cli::main()
}
