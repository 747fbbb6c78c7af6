fn main() {
    std::process::exit(sluice::cli::main());
}
