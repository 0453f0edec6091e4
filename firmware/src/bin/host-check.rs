//! Proof that the firmware's graph is `no_std`: a `#![no_std] #![no_main]`
//! program for the host, with its own panic handler and an allocator over
//! the C library's malloc. If any dependency pulled in `std`, linking fails
//! with a duplicate `panic_impl`. Exits 0 when a window state was drawn.
//!
//! Build: `cargo build -p hallq-firmware --features host-check --profile firmware`.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};

use hallq_firmware::{Outcome, WindowDisplay};
use hallq_render::Framebuffer;

#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

struct LibcAlloc;

// Alignments above 16 are not needed by this program.
unsafe impl GlobalAlloc for LibcAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > 16 {
            return core::ptr::null_mut();
        }
        unsafe { malloc(layout.size()) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { free(ptr) }
    }
}

#[global_allocator]
static ALLOC: LibcAlloc = LibcAlloc;

// The host's precompiled `alloc` was built to unwind; with panic=abort
// nothing unwinds, so these two are never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut d = WindowDisplay::new(Framebuffer::new(128, 32), "xuchang", "3");
    let msg = r#"{"window":"3","name":"3号窗口","status":"calling","ticket":{"number":"A001"},"waiting":2,"seq":7}"#;
    let topic = d.topic().as_bytes().to_vec();
    let topic = core::str::from_utf8(&topic).unwrap_or("");
    match d.on_message(topic, msg.as_bytes()) {
        Outcome::Drawn { seq: 7 } if d.panel().lit() > 100 => 0,
        _ => 1,
    }
}
