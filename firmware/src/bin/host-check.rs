//! Proof that the firmware's graph is `no_std`: a `#![no_std] #![no_main]`
//! program for the host, with its own panic handler and an allocator over
//! the C library's malloc. If any dependency pulled in `std`, linking fails
//! with a duplicate `panic_impl`. Exits 0 when a window state was drawn
//! and an MQTT session over a closed network ended; prints the firmware's
//! RAM figures.
//!
//! Build: `cargo build -p hallq-firmware --features host-check --profile firmware`.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};

use hallq_firmware::net::{Ended, Settings, session};
use hallq_firmware::{Outcome, WindowDisplay};
use hallq_render::{BinaryColor, Framebuffer};

#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn read(fd: i32, buf: *mut u8, n: usize) -> isize;
    fn write(fd: i32, buf: *const u8, n: usize) -> isize;
    fn printf(format: *const u8, ...) -> i32;
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

/// The network as the firmware sees it, bound to nothing: reads and writes
/// go to the C library on a closed descriptor, so the optimiser must keep
/// the whole MQTT client (this binary's size is the firmware's code size)
/// and a session ends at once when run.
struct Closed;

impl embedded_io_async::ErrorType for Closed {
    type Error = embedded_io_async::ErrorKind;
}

impl embedded_io_async::Read for Closed {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = unsafe { read(-1, buf.as_mut_ptr(), buf.len()) };
        usize::try_from(n).map_err(|_| embedded_io_async::ErrorKind::NotConnected)
    }
}

impl embedded_io_async::Write for Closed {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = unsafe { write(-1, buf.as_ptr(), buf.len()) };
        usize::try_from(n).map_err(|_| embedded_io_async::ErrorKind::NotConnected)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_nal_async::TcpConnect for Closed {
    type Error = embedded_io_async::ErrorKind;
    type Connection<'a> = Closed;

    async fn connect<'a>(
        &'a self,
        _remote: core::net::SocketAddr,
    ) -> Result<Self::Connection<'a>, Self::Error> {
        Ok(Closed)
    }
}

struct NoDelay;

impl embedded_hal_async::delay::DelayNs for NoDelay {
    async fn delay_ns(&mut self, _ns: u32) {}
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut d = WindowDisplay::new(Framebuffer::<BinaryColor>::new(128, 32), "xuchang", "3");
    let msg = r#"{"window":"3","name":"3号窗口","status":"calling","ticket":{"number":"A001"},"waiting":2,"seq":7}"#;
    let topic = d.topic().as_bytes().to_vec();
    let topic = core::str::from_utf8(&topic).unwrap_or("");
    let drawn = matches!(
        d.on_message(topic, msg.as_bytes()),
        Outcome::Drawn { seq: 7 }
    ) && d.panel().lit() > 100;
    // One MQTT session over the closed network: it must end, not hang.
    let settings = Settings {
        broker: core::net::SocketAddr::from(([127, 0, 0, 1], 1883)),
        hall: "xuchang",
        window: "3",
        device: "led-3",
        password: "x",
    };
    let clock = || 0u64;
    let mut delay = NoDelay;
    let session = session(&Closed, &mut delay, &clock, settings, &mut d);
    // The firmware's RAM besides the heap: the display's state and the
    // session's future (the MQTT client and its buffers), as an embassy
    // task would hold them statically.
    let display_bytes = core::mem::size_of::<WindowDisplay<Framebuffer<BinaryColor>>>();
    let session_bytes = core::mem::size_of_val(&session);
    let ended = embassy_futures::block_on(session);
    unsafe {
        printf(
            c"host-check: display state %zu bytes, MQTT session %zu bytes, panel 128x32 1-bit %zu bytes\n"
                .as_ptr()
                .cast(),
            display_bytes,
            session_bytes,
            128usize * 32 / 8,
        );
    }
    if drawn && ended == Ended::Mqtt { 0 } else { 1 }
}
