//! The Arroyo plugin tutorial's `repeat(String s, Int n) -> String` as a Rust cdylib.
//!
//! The `#[repr(C)]` types below are the tutorial's ABI byte for byte: a `#[repr(C)]` enum with
//! fields is laid out as `struct { <C enum tag>; union { ... } }`. Strings handed to the host
//! (the result and error messages) belong to the host, which frees them with libc `free()`,
//! so they are allocated with libc `malloc()`, not with Rust's allocator
//! (`CString::into_raw` memory must only go back through `CString::from_raw`).

use std::ffi::{c_char, c_void, CStr};

#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)]
pub enum PluginType {
    Bool,
    Int,
    UInt,
    Double,
    String,
}

#[repr(C)]
#[allow(dead_code)]
pub enum PluginValue {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    String(*const c_char),
}

#[repr(C)]
#[allow(dead_code)]
pub enum PluginResult {
    Ok(PluginValue),
    Err(*mut c_char),
}

#[repr(C)]
pub struct PluginMetadata {
    pub name: *const c_char,
    pub arg_types: *const PluginType,
    pub arg_types_len: usize,
    pub return_type: PluginType,
}

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
}

static ARG_TYPES: [PluginType; 2] = [PluginType::String, PluginType::Int];

/// Copies bytes into a NUL-terminated string from libc malloc (NULL if malloc fails).
fn malloc_string(bytes: &[u8]) -> *mut c_char {
    unsafe {
        let out = malloc(bytes.len() + 1) as *mut u8;
        if !out.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
            *out.add(bytes.len()) = 0;
        }
        out as *mut c_char
    }
}

fn err(message: &str) -> PluginResult {
    PluginResult::Err(malloc_string(message.as_bytes()))
}

#[no_mangle]
pub extern "C" fn plugin_metadata() -> PluginMetadata {
    PluginMetadata {
        name: c"repeat".as_ptr(),
        arg_types: ARG_TYPES.as_ptr(),
        arg_types_len: ARG_TYPES.len(),
        return_type: PluginType::String,
    }
}

/// # Safety
/// `args` points to `args_len` values laid out as the metadata says.
#[no_mangle]
pub unsafe extern "C" fn plugin_entrypoint(args: *const PluginValue, args_len: usize) -> PluginResult {
    if args.is_null() || args_len != 2 {
        return err("repeat takes (String, Int)");
    }
    let args = std::slice::from_raw_parts(args, args_len);
    let (s, n) = match (&args[0], &args[1]) {
        (PluginValue::String(s), PluginValue::Int(n)) if !s.is_null() => (CStr::from_ptr(*s).to_bytes(), *n),
        _ => return err("repeat takes (String, Int)"),
    };
    if n < 0 {
        return err("repeat: the count must not be negative");
    }
    let Some(total) = s.len().checked_mul(n as usize) else {
        return err("repeat: the result would be too large");
    };
    let mut bytes = Vec::new();
    if bytes.try_reserve_exact(total).is_err() {
        return err("repeat: out of memory");
    }
    for _ in 0..n {
        bytes.extend_from_slice(s);
    }
    let out = malloc_string(&bytes);
    if out.is_null() {
        return err("repeat: out of memory");
    }
    PluginResult::Ok(PluginValue::String(out))
}
