//! Data functions shared by native nodes and Rhai scripts: the same code masks a phone
//! number in the `mask` node and in `mask_phone()` inside a script.
//!
//! Each file is one family of functions plus a `register` that exposes them to Rhai.

use rhai::Engine;

/// Registers every function family with the script engine.
pub fn register_all(engine: &mut Engine) {
    let _ = engine;
    // TODO-WIRE dates::register(engine);
    // TODO-WIRE text::register(engine);
    // TODO-WIRE mask::register(engine);
    // TODO-WIRE hash::register(engine);
    // TODO-WIRE phone::register(engine);
    // TODO-WIRE idcard::register(engine);
    // TODO-WIRE json::register(engine);
}

// TODO-WIRE pub mod dates;
// TODO-WIRE pub mod text;
// TODO-WIRE pub mod mask;
// TODO-WIRE pub mod hash;
// TODO-WIRE pub mod phone;
// TODO-WIRE pub mod idcard;
// TODO-WIRE pub mod json;
