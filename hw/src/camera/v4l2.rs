//! The V4L2 camera driver (feature `v4l2`): `/dev/videoN`, or `auto`, behind a
//! [`CameraHub`].
//!
//! The `v4l` crate moves the bytes (format enumeration, `VIDIOC_S_FMT`, memory-mapped
//! streaming with a poll timeout); [`super::wire`] chooses the format and decodes the frames.
//! nokhwa, which wraps the same crate, is not used: it polls without a timeout, so a camera
//! that stops delivering would hang the reader for ever, and its `Closest` request fails on a
//! camera without the exact size asked for.
//!
//! Each open, on the hub's reader thread: resolve the device (`auto`: the first
//! `/dev/videoN`, by number, offering MJPG or YUYV), list its formats and sizes, choose
//! ([`super::wire::choose`]), set the format and check the driver agreed (a camera that
//! answers with another format is [`CameraErrorKind::BadFormat`], with a sentence), ask for the
//! frame rate, stream with 4 buffers. A capture that finds no frame within [`POLL`] returns so
//! the hub can detect a stall; `ENODEV` is an unplug.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use v4l::buffer::Type;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::capture::Parameters;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::capture::{CameraHub, CaptureDevice, CaptureError, HubSettings, Negotiated, Opener};
use super::wire::{self, Choice, Offer, RawFrame, Wire};
use super::{CameraError, CameraErrorKind, Frame, FrameSource, SourceInfo};

/// How long one capture call waits for a frame before returning to the hub.
pub const POLL: Duration = Duration::from_millis(200);

/// Which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V4l2Device {
    /// `/dev/videoN`.
    Path(PathBuf),
    /// The first `/dev/videoN` (by number) offering MJPG or YUYV, looked up at every open.
    Auto,
}

/// What to open and what to ask it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4l2Config {
    /// The device.
    pub device: V4l2Device,
    /// Wanted width; the nearest offered size is used.
    pub width: u32,
    /// Wanted height.
    pub height: u32,
    /// Wanted frame rate.
    pub fps: u32,
}

impl V4l2Config {
    /// `device` at 1280x720, 30 fps.
    pub fn new(device: V4l2Device) -> Self {
        Self {
            device,
            width: 1280,
            height: 720,
            fps: 30,
        }
    }

    /// The camera's name in logs.
    pub fn label(&self) -> String {
        match &self.device {
            V4l2Device::Path(p) => format!("v4l2:{}", p.display()),
            V4l2Device::Auto => "v4l2:auto".into(),
        }
    }
}

/// Starts a [`CameraHub`] on this camera. Returns at once; a camera that is missing now is a
/// hub that is down and opens it when it appears.
///
/// # Errors
///
/// The OS refused to start the reader thread.
pub fn hub(config: V4l2Config, settings: HubSettings) -> io::Result<CameraHub> {
    let label = config.label();
    let opener: Opener = Arc::new(move || open(&config));
    CameraHub::start(label, opener, settings)
}

/// One camera with one consumer, opened synchronously (`kioskctl camera test`).
#[derive(Debug)]
pub struct V4l2Source {
    feed: super::capture::CameraFeed,
    negotiated: Negotiated,
}

impl V4l2Source {
    /// Opens the camera and waits until it streams (10 s at most).
    ///
    /// # Errors
    ///
    /// Why the first open failed: [`CameraErrorKind::NoDevice`], [`CameraErrorKind::DeviceBusy`],
    /// [`CameraErrorKind::BadFormat`], or [`CameraErrorKind::Timeout`].
    pub fn open(config: V4l2Config) -> Result<Self, CameraError> {
        let hub = hub(config, HubSettings::default()).map_err(|e| {
            CameraError::with_source(CameraErrorKind::Io, "starting the camera thread", e)
        })?;
        let feed = hub.feed();
        let negotiated = hub.wait_streaming(Duration::from_secs(10))?;
        Ok(Self { feed, negotiated })
    }

    /// The format, size and rate the camera agreed to.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Frames this consumer skipped (it was slower than the camera).
    pub fn dropped_frames(&self) -> u64 {
        self.feed.missed_frames()
    }
}

impl FrameSource for V4l2Source {
    fn info(&self) -> SourceInfo {
        self.feed.info()
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.feed.next_frame(timeout)
    }

    fn next_shared(&mut self, timeout: Duration) -> Result<Arc<Frame>, CameraError> {
        self.feed.next_shared(timeout)
    }
}

/// `/dev/videoN` devices, by number.
fn video_devices() -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let n = name.to_str()?.strip_prefix("video")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

fn io_error(what: String, e: io::Error) -> CameraError {
    let kind = match e.raw_os_error() {
        Some(libc::EBUSY) => CameraErrorKind::DeviceBusy,
        Some(libc::ENODEV | libc::ENXIO) => CameraErrorKind::Unplugged,
        _ if e.kind() == io::ErrorKind::NotFound => CameraErrorKind::NoDevice,
        _ if e.kind() == io::ErrorKind::PermissionDenied => {
            return CameraError::with_source(
                CameraErrorKind::NoDevice,
                format!("{what}: permission denied (the kiosk user needs the video group)"),
                e,
            )
        }
        _ => CameraErrorKind::Io,
    };
    CameraError::with_source(kind, what, e)
}

/// The capture formats and sizes a device offers. Stepwise sizes offer the wanted size when it
/// is in their range (else their largest).
fn offers(dev: &Device, want: (u32, u32)) -> io::Result<Vec<Offer>> {
    let mut out = Vec::new();
    for desc in dev.enum_formats()? {
        let mut sizes = Vec::new();
        // A format without size enumeration still counts (its sizes are unknown).
        for fs in dev.enum_framesizes(desc.fourcc).unwrap_or_default() {
            match fs.size {
                FrameSizeEnum::Discrete(d) => sizes.push((d.width, d.height)),
                FrameSizeEnum::Stepwise(s) => sizes.push((
                    want.0.clamp(s.min_width, s.max_width.max(s.min_width)),
                    want.1.clamp(s.min_height, s.max_height.max(s.min_height)),
                )),
            }
        }
        out.push(Offer {
            fourcc: desc.fourcc.repr,
            sizes,
        });
    }
    Ok(out)
}

/// Opens `path` and chooses a format: the device and the choice.
fn probe(path: &Path, want: (u32, u32)) -> Result<(Device, Choice), CameraError> {
    let dev =
        Device::with_path(path).map_err(|e| io_error(format!("opening {}", path.display()), e))?;
    let offered = offers(&dev, want)
        .map_err(|e| io_error(format!("{}: listing formats", path.display()), e))?;
    let choice = wire::choose(&offered, want).map_err(|why| {
        CameraError::new(
            CameraErrorKind::BadFormat,
            format!("{}: {why}", path.display()),
        )
    })?;
    Ok((dev, choice))
}

/// Runs on the hub's reader thread, for every (re)open.
fn open(cfg: &V4l2Config) -> Result<(Box<dyn CaptureDevice>, Negotiated), CameraError> {
    let want = (cfg.width, cfg.height);
    let (path, dev, choice) = match &cfg.device {
        V4l2Device::Path(p) => {
            let (dev, choice) = probe(p, want)?;
            (p.clone(), dev, choice)
        }
        V4l2Device::Auto => {
            let mut why = Vec::new();
            let mut found = None;
            for p in video_devices() {
                match probe(&p, want) {
                    Ok((dev, choice)) => {
                        found = Some((p, dev, choice));
                        break;
                    }
                    Err(e) => why.push(e.to_string()),
                }
            }
            found.ok_or_else(|| {
                CameraError::new(
                    CameraErrorKind::NoDevice,
                    if why.is_empty() {
                        "no /dev/video* device: plug in the camera".to_owned()
                    } else {
                        format!("no camera offers MJPG or YUYV ({})", why.join("; "))
                    },
                )
            })?
        }
    };
    let shown = path.display();
    let wanted = Format::new(
        choice.width,
        choice.height,
        FourCC::new(&choice.wire.fourcc()),
    );
    let got = dev
        .set_format(&wanted)
        .map_err(|e| io_error(format!("{shown}: setting {}", choice.wire), e))?;
    if got.fourcc.repr != choice.wire.fourcc() || (got.width, got.height) != want_of(&choice) {
        return Err(CameraError::new(
            CameraErrorKind::BadFormat,
            format!(
                "{shown}: asked for {} {}x{}, the camera answered {} {}x{}; check that no \
                 other program reconfigures it",
                choice.wire,
                choice.width,
                choice.height,
                wire::fourcc_text(got.fourcc.repr),
                got.width,
                got.height
            ),
        ));
    }
    // The rate is a wish: cameras lower it in dim light. Unknown is 0.
    let fps = dev
        .set_params(&Parameters::with_fps(cfg.fps))
        .ok()
        .and_then(|p| p.interval.denominator.checked_div(p.interval.numerator))
        .unwrap_or(0);
    let mut stream = Stream::with_buffers(&dev, Type::VideoCapture, 4)
        .map_err(|e| io_error(format!("{shown}: mapping buffers"), e))?;
    stream.set_timeout(POLL);
    let name = card_name(&path).unwrap_or_else(|| shown.to_string());
    let negotiated = Negotiated {
        name,
        width: got.width,
        height: got.height,
        fps,
        format: choice.wire.to_string(),
    };
    let capture = V4l2Capture {
        stream,
        _device: dev,
        wire: choice.wire,
        width: got.width,
        height: got.height,
        stride: got.stride,
    };
    Ok((Box::new(capture), negotiated))
}

/// The camera's name from sysfs, read lossily. Not `VIDIOC_QUERYCAP` through `v4l`: its
/// `query_caps` unwraps the name as UTF-8, and the kernel cuts a long USB product name at 31
/// bytes, possibly inside a character, which would panic the reader on every open.
fn card_name(path: &Path) -> Option<String> {
    let node = path.file_name()?;
    let sys = Path::new("/sys/class/video4linux").join(node).join("name");
    let bytes = std::fs::read(sys).ok()?;
    let name = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!name.is_empty()).then_some(name)
}

fn want_of(c: &Choice) -> (u32, u32) {
    (c.width, c.height)
}

/// A streaming device. The stream is declared first so it stops before the device closes.
/// (`v4l`'s stream panics in `drop` when `VIDIOC_STREAMOFF` fails with anything but
/// `ENODEV`; the hub's reader drops it inside its `catch_unwind`, so that is an outage and a
/// reopen, not a dead reader.)
struct V4l2Capture {
    stream: Stream<'static>,
    _device: Device,
    wire: Wire,
    width: u32,
    height: u32,
    stride: u32,
}

impl CaptureDevice for V4l2Capture {
    fn capture(&mut self, decode: bool) -> Result<Frame, CaptureError> {
        let (buf, meta) = match CaptureStream::next(&mut self.stream) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(CaptureError::NoFrame),
            Err(e) => {
                let kind = match e.raw_os_error() {
                    Some(libc::ENODEV | libc::ENXIO) => CameraErrorKind::Unplugged,
                    _ => CameraErrorKind::Io,
                };
                return Err(CaptureError::Gone(kind, format!("capturing: {e}")));
            }
        };
        if !decode {
            // Dequeued (the camera is alive) but nobody wants it: the decode is the cost.
            return Err(CaptureError::Discarded);
        }
        // `bytesused` comes from the driver: never trust it past the mapped buffer.
        let used = usize::try_from(meta.bytesused)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        wire::decode(RawFrame {
            wire: self.wire,
            width: self.width,
            height: self.height,
            stride: self.stride,
            bytes: &buf[..used],
        })
        .map_err(CaptureError::Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_device_is_reported_not_a_hang() {
        // No machine has /dev/video999.
        let cfg = V4l2Config::new(V4l2Device::Path("/dev/video999".into()));
        let err = V4l2Source::open(cfg).expect_err("no camera");
        assert_eq!(err.kind(), CameraErrorKind::NoDevice, "{err}");
        assert!(err.to_string().contains("/dev/video999"), "{err}");
    }

    #[test]
    fn not_a_camera_is_reported() {
        // /dev/null opens but answers no V4L2 ioctl.
        let cfg = V4l2Config::new(V4l2Device::Path("/dev/null".into()));
        let err = V4l2Source::open(cfg).expect_err("not a camera");
        assert_ne!(err.kind(), CameraErrorKind::Timeout, "{err}");
    }

    /// A real camera: `KIOSK_V4L2_DEVICE=/dev/video0` (or `auto`). No CI machine has one and
    /// the host kernel has no `vivid` module, hence ignored by default; the QEMU image test
    /// (`modprobe vivid`) is where it runs unattended.
    #[test]
    #[ignore = "needs a V4L2 camera: KIOSK_V4L2_DEVICE=/dev/videoN cargo test -p kiosk-hw --features v4l2 -- --ignored"]
    fn streams_from_a_real_camera_to_two_consumers() {
        let device = match std::env::var("KIOSK_V4L2_DEVICE") {
            Ok(d) if d == "auto" => V4l2Device::Auto,
            Ok(d) => V4l2Device::Path(d.into()),
            Err(_) => panic!("set KIOSK_V4L2_DEVICE=/dev/videoN (or auto) to run this test"),
        };
        let hub = hub(V4l2Config::new(device), HubSettings::default()).expect("hub");
        let n = hub
            .wait_streaming(Duration::from_secs(10))
            .expect("camera streams");
        assert!(n.format == "MJPG" || n.format == "YUYV", "{n}");
        let (mut a, mut b) = (hub.feed(), hub.feed());
        for _ in 0..10 {
            let fa = a.next_shared(Duration::from_secs(2)).expect("frame");
            assert_eq!((fa.width, fa.height), (n.width, n.height));
            let fb = b.next_shared(Duration::from_secs(2)).expect("frame");
            assert_eq!(fb.data.len(), fb.width as usize * fb.height as usize * 3);
        }
    }
}
