fn main() {
    // Declaring the app's commands makes them subject to capabilities like any plugin
    // command: `call` runs only where `capabilities/` grants `allow-call`.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&["call"]));
    tauri_build::try_build(attributes)
        .expect("tauri-build failed: check tauri.conf.json and capabilities/");
}
