//! The fan-out against fake devices: same allocation for every consumer, a slow consumer
//! that neither stalls the reader nor the other consumer, unplug and replug, a stalled
//! stream, a bad format, a panicking driver, shutdown.

use super::*;
use crate::camera::{PatternSource, PixelFormat};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;

fn tiny(value: u8) -> Frame {
    Frame {
        width: 2,
        height: 2,
        format: PixelFormat::Luma8,
        data: vec![value; 4],
        seq: 0,
    }
}

fn fmt() -> Negotiated {
    Negotiated {
        name: "fake".into(),
        width: 2,
        height: 2,
        fps: 0,
        format: "GREY".into(),
    }
}

fn quick() -> HubSettings {
    HubSettings {
        reopen_interval: Duration::from_millis(20),
        stall_after: Duration::from_secs(2),
        ..HubSettings::default()
    }
}

/// Polls `cond` for up to 5 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A free-running fake camera: a frame every `period` (its value counts up), unless
/// unplugged (gone, and does not open), stalled (no frames) or told to panic once.
#[derive(Default)]
struct Switches {
    unplugged: AtomicBool,
    stalled: AtomicBool,
    bad_format: AtomicBool,
    panic_once: AtomicBool,
    counter: AtomicU64,
    opened: AtomicU64,
    closed: AtomicU64,
}

struct Free {
    sw: Arc<Switches>,
    period: Duration,
}

impl CaptureDevice for Free {
    fn capture(&mut self, _decode: bool) -> Result<Frame, CaptureError> {
        std::thread::sleep(self.period);
        if self.sw.unplugged.load(Ordering::SeqCst) {
            return Err(CaptureError::Gone(
                CameraErrorKind::Unplugged,
                "ENODEV".into(),
            ));
        }
        if self.sw.panic_once.swap(false, Ordering::SeqCst) {
            panic!("driver bug");
        }
        if self.sw.stalled.load(Ordering::SeqCst) {
            return Err(CaptureError::NoFrame);
        }
        let n = self.sw.counter.fetch_add(1, Ordering::SeqCst);
        Ok(tiny((n % 256) as u8))
    }
}

impl Drop for Free {
    fn drop(&mut self) {
        self.sw.closed.fetch_add(1, Ordering::SeqCst);
    }
}

fn free(period: Duration) -> (Opener, Arc<Switches>) {
    let sw = Arc::new(Switches::default());
    let s = Arc::clone(&sw);
    let opener: Opener = Arc::new(move || {
        if s.unplugged.load(Ordering::SeqCst) {
            return Err(CameraError::new(
                CameraErrorKind::NoDevice,
                "no such device",
            ));
        }
        if s.bad_format.load(Ordering::SeqCst) {
            return Err(CameraError::new(
                CameraErrorKind::BadFormat,
                "offers only H264",
            ));
        }
        s.opened.fetch_add(1, Ordering::SeqCst);
        let device = Free {
            sw: Arc::clone(&s),
            period,
        };
        Ok((Box::new(device) as Box<dyn CaptureDevice>, fmt()))
    });
    (opener, sw)
}

/// A fake camera that delivers exactly the frames sent to it.
fn scripted() -> (Opener, mpsc::Sender<u8>) {
    struct Scripted(Arc<Mutex<mpsc::Receiver<u8>>>);
    impl CaptureDevice for Scripted {
        fn capture(&mut self, _decode: bool) -> Result<Frame, CaptureError> {
            let rx = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            match rx.recv_timeout(Duration::from_millis(10)) {
                Ok(v) => Ok(tiny(v)),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(CaptureError::NoFrame),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(CaptureError::Gone(
                    CameraErrorKind::Unplugged,
                    "gone".into(),
                )),
            }
        }
    }
    let (tx, rx) = mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let opener: Opener = Arc::new(move || {
        let device = Scripted(Arc::clone(&rx));
        Ok((Box::new(device) as Box<dyn CaptureDevice>, fmt()))
    });
    (opener, tx)
}

#[test]
fn every_consumer_gets_the_same_allocation_once() {
    let (opener, tx) = scripted();
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let (mut a, mut b) = (hub.feed(), hub.feed());
    assert_eq!(hub.wait_streaming(Duration::from_secs(5)).ok(), Some(fmt()));
    tx.send(7).expect("send");
    let fa = a.next_shared(Duration::from_secs(5)).expect("a");
    let fb = b.next_shared(Duration::from_secs(5)).expect("b");
    assert!(Arc::ptr_eq(&fa, &fb), "one allocation for both consumers");
    assert_eq!((fa.data[0], fa.seq), (7, 1));
    // A frame is handed out once per feed: asking again waits for a newer one.
    let again = a
        .next_shared(Duration::from_millis(50))
        .map_err(|e| e.kind());
    assert_eq!(again.err(), Some(CameraErrorKind::Timeout));
    tx.send(8).expect("send");
    tx.send(9).expect("send");
    eventually("both frames published", || hub.stats().published == 3);
    // Latest-frame semantics: the newest, and the one in between counted as missed.
    let f = a.next_frame(Duration::from_secs(5)).expect("a");
    assert_eq!((f.data[0], f.seq), (9, 3));
    assert_eq!(a.missed_frames(), 1);
    assert_eq!(a.info().width, 2);
}

#[test]
fn a_slow_consumer_stalls_neither_the_reader_nor_the_other_consumer() {
    let (opener, _sw) = free(Duration::from_millis(5));
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let (mut fast, mut slow) = (hub.feed(), hub.feed());
    // A third consumer that never reads must not hold anything up either.
    let _idle = hub.feed();
    hub.wait_streaming(Duration::from_secs(5))
        .expect("streaming");
    let window = Duration::from_millis(600);
    let slow_thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut got = Vec::new();
        while started.elapsed() < window {
            if let Ok(f) = slow.next_shared(Duration::from_millis(100)) {
                got.push(f.seq);
                // A face model's worth of work per frame.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        (got, slow.missed_frames())
    });
    let before = hub.stats().published;
    let started = Instant::now();
    let mut fast_got = 0u64;
    let mut lag = 0u64;
    while started.elapsed() < window {
        if let Ok(f) = fast.next_shared(Duration::from_millis(100)) {
            fast_got += 1;
            lag = lag.max(hub.stats().published.saturating_sub(f.seq));
        }
    }
    let published = hub.stats().published - before;
    let (slow_got, slow_missed) = slow_thread.join().expect("slow consumer");
    // The reader ran at the camera's rate (~120 frames at 5 ms; room for a busy CI machine).
    assert!(published >= 40, "reader published only {published}");
    // The fast consumer saw most frames, always a fresh one (a slow consumer holding the
    // reader up would show here as a lag of tens of frames).
    assert!(
        fast_got * 10 >= published * 6,
        "fast got {fast_got} of {published}"
    );
    assert!(lag <= 5, "fast consumer lagged {lag} frames");
    // The slow one got a handful, each the newest at the time, and skipped the rest.
    assert!((2..=8).contains(&slow_got.len()), "slow got {slow_got:?}");
    assert!(slow_missed >= 10, "slow missed only {slow_missed}");
}

#[test]
fn unplug_is_reported_to_every_consumer_and_the_hub_reopens_by_itself() {
    let (opener, sw) = free(Duration::from_millis(1));
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let (mut a, mut b) = (hub.feed(), hub.feed());
    a.next_shared(Duration::from_secs(5)).expect("streaming");
    sw.unplugged.store(true, Ordering::SeqCst);
    let down = |f: &mut CameraFeed| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match f.next_shared(Duration::from_millis(50)) {
                Err(e) if e.kind() != CameraErrorKind::Timeout => return e.kind(),
                _ => assert!(Instant::now() < deadline, "unplug not reported"),
            }
        }
    };
    let unavailable = [CameraErrorKind::Unplugged, CameraErrorKind::NoDevice];
    assert!(unavailable.contains(&down(&mut a)));
    assert!(unavailable.contains(&down(&mut b)));
    // Down is answered at once, not after the timeout.
    let t = Instant::now();
    assert!(a.next_shared(Duration::from_secs(5)).is_err());
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(matches!(hub.state(), HubState::Down { .. }));
    // Replugged: the hub reopens without any consumer asking.
    sw.unplugged.store(false, Ordering::SeqCst);
    eventually("reopen", || matches!(hub.state(), HubState::Streaming(_)));
    a.next_shared(Duration::from_secs(5))
        .expect("a streams again");
    b.next_shared(Duration::from_secs(5))
        .expect("b streams again");
    let stats = hub.stats();
    assert_eq!((stats.outages, stats.opens), (1, 2), "{stats:?}");
    // The device of the first stream was closed before the second was opened.
    assert_eq!(sw.closed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_camera_that_stops_delivering_is_stalled_and_reopened() {
    let (opener, sw) = free(Duration::from_millis(1));
    let settings = HubSettings {
        reopen_interval: Duration::from_millis(20),
        stall_after: Duration::from_millis(150),
        ..HubSettings::default()
    };
    let hub = CameraHub::start("cam", opener, settings).expect("hub");
    let mut feed = hub.feed();
    feed.next_shared(Duration::from_secs(5)).expect("streaming");
    sw.stalled.store(true, Ordering::SeqCst);
    eventually("stall reported", || {
        matches!(
            feed.next_shared(Duration::from_millis(20))
                .map_err(|e| e.kind()),
            Err(CameraErrorKind::Stalled)
        )
    });
    sw.stalled.store(false, Ordering::SeqCst);
    eventually("frames again", || {
        feed.next_shared(Duration::from_millis(50)).is_ok()
    });
    assert!(
        sw.opened.load(Ordering::SeqCst) >= 2,
        "the stalled stream was reopened"
    );
}

#[test]
fn a_camera_in_the_wrong_format_is_reported_and_retried() {
    let (opener, sw) = free(Duration::from_millis(1));
    sw.bad_format.store(true, Ordering::SeqCst);
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let err = hub
        .wait_streaming(Duration::from_secs(5))
        .expect_err("bad format");
    assert_eq!(err.kind(), CameraErrorKind::BadFormat);
    assert!(err.to_string().contains("H264"), "{err}");
    let mut feed = hub.feed();
    let kind = feed
        .next_shared(Duration::from_secs(1))
        .map_err(|e| e.kind());
    assert_eq!(kind.err(), Some(CameraErrorKind::BadFormat));
    // Reconfigured (another camera plugged in): it streams without a restart.
    sw.bad_format.store(false, Ordering::SeqCst);
    eventually("frames", || {
        feed.next_shared(Duration::from_millis(50)).is_ok()
    });
}

#[test]
fn a_panicking_driver_is_restarted() {
    let (opener, sw) = free(Duration::from_millis(1));
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let mut feed = hub.feed();
    feed.next_shared(Duration::from_secs(5)).expect("streaming");
    sw.panic_once.store(true, Ordering::SeqCst);
    eventually("restart after the panic", || hub.stats().opens >= 2);
    eventually("frames", || {
        feed.next_shared(Duration::from_millis(50)).is_ok()
    });
    assert_eq!(hub.stats().outages, 1);
}

#[test]
fn the_reader_stops_when_the_last_handle_goes() {
    let (opener, sw) = free(Duration::from_millis(1));
    let hub = CameraHub::start("cam", opener, quick()).expect("hub");
    let mut feed = hub.feed();
    drop(hub);
    // A feed keeps the stream alive on its own.
    feed.next_shared(Duration::from_secs(5))
        .expect("still streaming");
    assert_eq!(sw.closed.load(Ordering::SeqCst), 0);
    drop(feed);
    // Dropping the last handle joined the reader, which closed the device.
    assert_eq!(sw.closed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_simulator_behind_the_fan_out() {
    let source = PatternSource::new(16, 8, 100).expect("pattern");
    let hub = CameraHub::from_source(source, HubSettings::default()).expect("hub");
    let (mut a, mut b) = (hub.feed(), hub.feed());
    let fa = a.next_shared(Duration::from_secs(5)).expect("a");
    let fb = b.next_shared(Duration::from_secs(5)).expect("b");
    assert_eq!((fa.width, fb.height), (16, 8));
    let info = a.info();
    assert_eq!((info.width, info.height, info.fps), (16, 8, 100));
}

#[test]
fn frames_are_decoded_only_while_a_consumer_wants_them() {
    /// Decodes (makes a frame) only when asked to, like the V4L2 driver.
    struct Lazy;
    impl CaptureDevice for Lazy {
        fn capture(&mut self, decode: bool) -> Result<Frame, CaptureError> {
            std::thread::sleep(Duration::from_millis(2));
            if decode {
                Ok(tiny(1))
            } else {
                Err(CaptureError::Discarded)
            }
        }
    }
    let opener: Opener = Arc::new(|| Ok((Box::new(Lazy) as Box<dyn CaptureDevice>, fmt())));
    let settings = HubSettings {
        idle_after: Duration::from_millis(100),
        stall_after: Duration::from_millis(300),
        ..quick()
    };
    let hub = CameraHub::start("cam", opener, settings).expect("hub");
    let mut feed = hub.feed();
    eventually("frames discarded while nobody asks", || {
        hub.stats().discarded >= 20
    });
    // Discarded frames are signs of life: no stall, no outage.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!((hub.stats().published, hub.stats().outages), (0, 0));
    feed.next_shared(Duration::from_secs(5))
        .expect("decoded on demand");
    // Demand lapses after idle_after: decoding stops again.
    std::thread::sleep(Duration::from_millis(300));
    let published = hub.stats().published;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        hub.stats().published,
        published,
        "still decoding without demand"
    );
    assert!(matches!(hub.state(), HubState::Streaming(_)));
}
