//! The firmware on a host board: the microcontroller build's code, run on
//! this machine with tokio's TCP as its network stack, tokio's timer as its
//! delay, and an in-memory framebuffer as its panel. No MCU target can be
//! installed here; everything above the board glue is the firmware's own.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use embedded_io_adapters::tokio_1::FromTokio;
use hallq_firmware::WindowDisplay;
use hallq_firmware::net::{Board, Settings, run};
use hallq_render::{BinaryColor, Framebuffer};
use tokio::net::TcpStream;

/// The host's TCP stack as an `embedded-nal-async` one.
#[derive(Debug)]
pub struct HostNet;

impl embedded_nal_async::TcpConnect for HostNet {
    type Error = std::io::Error;
    type Connection<'a> = FromTokio<TcpStream>;

    async fn connect<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> Result<Self::Connection<'a>, Self::Error> {
        let s = TcpStream::connect(remote).await?;
        // Without it each message waits ~40 ms (Nagle and delayed ACK).
        s.set_nodelay(true)?;
        Ok(FromTokio::new(s))
    }
}

/// tokio's timer as an `embedded-hal-async` delay.
#[derive(Debug)]
pub struct HostDelay;

impl embedded_hal_async::delay::DelayNs for HostDelay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(u64::from(ns))).await;
    }
}

/// The panel: a framebuffer the test can look at while the firmware runs.
#[derive(Debug, Clone)]
pub struct SharedPanel(pub Arc<Mutex<Framebuffer>>);

impl SharedPanel {
    pub fn new(width: u32, height: u32) -> SharedPanel {
        SharedPanel(Arc::new(Mutex::new(Framebuffer::new(width, height))))
    }

    pub fn picture(&self) -> Framebuffer {
        self.0.lock().expect("panel").clone()
    }
}

impl embedded_graphics::prelude::OriginDimensions for SharedPanel {
    fn size(&self) -> embedded_graphics::prelude::Size {
        self.0.lock().expect("panel").size()
    }
}

impl embedded_graphics::draw_target::DrawTarget for SharedPanel {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = embedded_graphics::Pixel<Self::Color>>,
    {
        self.0.lock().expect("panel").draw_iter(pixels)
    }
}

/// A running firmware; dropping it (or [`HostBoard::stop`]) is pulling the
/// board's plug: its TCP connection is cut without a DISCONNECT.
#[derive(Debug)]
pub struct HostBoard {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostBoard {
    /// Boots the firmware of window `window`'s display on its own thread.
    pub fn boot(
        panel: SharedPanel,
        broker: SocketAddr,
        hall: &str,
        window: &str,
        password: &str,
    ) -> HostBoard {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (hall, window, password) = (hall.to_owned(), window.to_owned(), password.to_owned());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let device = format!("led-{window}");
                let settings = Settings {
                    broker,
                    hall: &hall,
                    window: &window,
                    device: &device,
                    password: &password,
                };
                let mut display = WindowDisplay::new(panel, &hall, &window);
                let boot = Instant::now();
                let clock = move || boot.elapsed().as_millis() as u64;
                let mut delay = HostDelay;
                let board = Board {
                    net: &HostNet,
                    delay: &mut delay,
                    clock: &clock,
                };
                tokio::select! {
                    _ = run(board, settings, &mut display) => {}
                    _ = stopped => {}
                }
            });
        });
        HostBoard {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Pulls the plug and waits for the board to be off.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HostBoard {
    fn drop(&mut self) {
        self.halt();
    }
}
