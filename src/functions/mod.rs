//! Data functions shared by native nodes and Rhai scripts: the same code masks a phone
//! number in the `mask` node and in `mask_phone()` inside a script.
//!
//! Each file is one family of functions plus a `register` that exposes them to Rhai.

use rhai::Engine;

/// Registers every function family with the script engine.
pub fn register_all(engine: &mut Engine) {
    let _ = engine;
    dates::register(engine);
    text::register(engine);
    mask::register(engine);
    hash::register(engine);
    phone::register(engine);
    idcard::register(engine);
    json::register(engine);
}

pub mod dates;
pub mod text;
pub mod mask;
pub mod hash;
pub mod phone;
pub mod idcard;
pub mod json;
