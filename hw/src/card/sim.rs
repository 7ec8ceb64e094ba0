//! The simulated card reader: [`SimCardReader`] plus its remote control [`SimCardControl`].
//!
//! The reader and the control share one `Mutex`-protected state and a `Condvar`: a test (or the
//! demo UI) inserts and removes [`VirtualCard`]s from any thread, and a reader blocked in
//! [`CardReader::wait_for_change`] wakes up at once. Fault switches force the rare paths the UI
//! must handle: the card pulled away after N APDUs, the reader unplugged, a slow card, any
//! error kind on the next call.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{CardError, CardErrorKind, CardPresence, CardReader};

/// A card emulated in software, plugged into a [`SimCardReader`] with [`SimCardControl::insert`].
pub trait VirtualCard {
    /// The answer to reset reported when the card is present.
    fn atr(&self) -> Vec<u8>;

    /// Processes one command APDU and returns the response APDU (data followed by SW1 SW2).
    /// Returning fewer than 2 bytes simulates a broken transport.
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;
}

struct Inserted {
    card: Box<dyn VirtualCard + Send>,
    /// Unique per insertion, so the reader notices a swapped card.
    id: u64,
}

struct State {
    plugged: bool,
    card: Option<Inserted>,
    next_card_id: u64,
    /// Bumped on every change a reader should report (insert, remove, unplug, replug).
    generation: u64,
    /// Remove the card after this many more successful exchanges.
    remove_after: Option<u32>,
    apdu_delay: Duration,
    fail_next: Option<CardErrorKind>,
}

impl State {
    fn presence(&self) -> CardPresence {
        match &self.card {
            Some(inserted) => CardPresence::Present {
                atr: inserted.card.atr(),
            },
            None => CardPresence::Absent,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    /// Locks the state. A `VirtualCard` that panicked inside `process` poisons the mutex; the
    /// state itself stays consistent (every field is updated in one step), so carry on with it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn change(&self, f: impl FnOnce(&mut State)) {
        let mut st = self.lock();
        f(&mut st);
        st.generation += 1;
        drop(st);
        self.changed.notify_all();
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("SimCardState")
            .field("plugged", &st.plugged)
            .field("card_present", &st.card.is_some())
            .field("generation", &st.generation)
            .finish_non_exhaustive()
    }
}

/// A simulated contactless reader. Create it with [`SimCardReader::new`], drive it with the
/// [`SimCardControl`] from [`SimCardReader::control`].
#[derive(Debug)]
pub struct SimCardReader {
    name: String,
    shared: Arc<Shared>,
    /// The generation last reported by `wait_for_change` (`None`: nothing reported yet).
    seen_generation: Option<u64>,
    /// The card this reader is talking to, to tell "removed" from "never there".
    session: Option<u64>,
}

impl SimCardReader {
    /// A plugged-in reader with no card.
    pub fn new(name: impl Into<String>) -> Self {
        let state = State {
            plugged: true,
            card: None,
            next_card_id: 1,
            generation: 0,
            remove_after: None,
            apdu_delay: Duration::ZERO,
            fail_next: None,
        };
        Self {
            name: name.into(),
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                changed: Condvar::new(),
            }),
            seen_generation: None,
            session: None,
        }
    }

    /// A handle controlling this reader from any thread.
    pub fn control(&self) -> SimCardControl {
        SimCardControl {
            shared: Arc::clone(&self.shared),
        }
    }

    fn error(&self, kind: CardErrorKind, detail: &str) -> CardError {
        CardError::new(kind, format!("{}: {detail}", self.name))
    }

    /// Checks the reader-level faults shared by every operation.
    fn check_reader(&self, st: &mut State) -> Result<(), CardError> {
        if let Some(kind) = st.fail_next.take() {
            return Err(self.error(kind, "injected fault"));
        }
        if !st.plugged {
            return Err(self.error(CardErrorKind::NoReader, "reader unplugged; plug it back in"));
        }
        Ok(())
    }

    /// The id of the card to talk to, or why there is none.
    fn current_card(&mut self, st: &State) -> Result<u64, CardError> {
        match (&st.card, self.session) {
            (None, None) => Err(self.error(CardErrorKind::NoCard, "no card in the field")),
            (None, Some(_)) => {
                Err(self.error(CardErrorKind::CardRemoved, "the card left the field"))
            }
            (Some(inserted), Some(session)) if inserted.id != session => {
                // The old transaction is broken; the next call talks to the new card.
                self.session = Some(inserted.id);
                Err(self.error(CardErrorKind::CardRemoved, "the card was swapped"))
            }
            (Some(inserted), _) => Ok(inserted.id),
        }
    }
}

impl CardReader for SimCardReader {
    fn name(&self) -> &str {
        &self.name
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<CardPresence, CardError> {
        // `None` when the timeout is too large to represent: wait until a change.
        let deadline = Instant::now().checked_add(timeout);
        let shared = Arc::clone(&self.shared);
        let mut st = shared.lock();
        loop {
            let changed = self.seen_generation != Some(st.generation);
            let remaining = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if changed || remaining.is_zero() {
                self.seen_generation = Some(st.generation);
                self.check_reader(&mut st)?;
                let presence = st.presence();
                if !presence.is_present() {
                    self.session = None;
                }
                return Ok(presence);
            }
            // Woken by `Shared::change` or by the timeout; spurious wake-ups loop back here.
            st = match deadline {
                Some(_) => {
                    shared
                        .changed
                        .wait_timeout(st, remaining)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => shared
                    .changed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if apdu.len() < 4 {
            return Err(self.error(
                CardErrorKind::Protocol,
                &format!(
                    "command APDU of {} bytes; at least CLA INS P1 P2 needed",
                    apdu.len()
                ),
            ));
        }
        let shared = Arc::clone(&self.shared);
        let mut st = shared.lock();
        self.check_reader(&mut st)?;
        let mut card_id = self.current_card(&st)?;
        self.session = Some(card_id);

        let delay = st.apdu_delay;
        if !delay.is_zero() {
            // Sleep without the lock, like air time: the card may be pulled away meanwhile.
            drop(st);
            std::thread::sleep(delay);
            st = shared.lock();
            self.check_reader(&mut st)?;
            card_id = self.current_card(&st)?;
        }

        let Some(inserted) = st.card.as_mut().filter(|c| c.id == card_id) else {
            return Err(self.error(CardErrorKind::CardRemoved, "the card left the field"));
        };
        let response = inserted.card.process(apdu);
        tracing::trace!(reader = %self.name, ins = apdu[1], len = response.len(), "apdu exchanged");

        if let Some(left) = st.remove_after {
            if left <= 1 {
                st.remove_after = None;
                drop(st);
                shared.change(|st| st.card = None);
            } else {
                st.remove_after = Some(left - 1);
            }
        }

        if response.len() < 2 {
            return Err(self.error(
                CardErrorKind::Transport,
                &format!("response of {} bytes has no status word", response.len()),
            ));
        }
        Ok(response)
    }
}

/// Remote control of a [`SimCardReader`]: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct SimCardControl {
    shared: Arc<Shared>,
}

impl SimCardControl {
    /// Puts `card` on the reader, replacing any card already there.
    pub fn insert(&self, card: Box<dyn VirtualCard + Send>) {
        self.shared.change(|st| {
            let id = st.next_card_id;
            st.next_card_id += 1;
            st.card = Some(Inserted { card, id });
        });
    }

    /// Takes the card away (nothing happens if there is none).
    pub fn remove(&self) {
        self.shared.change(|st| st.card = None);
    }

    /// Simulates unplugging the reader: every call fails with [`CardErrorKind::NoReader`]. A
    /// card on the reader stays there.
    pub fn unplug_reader(&self) {
        self.shared.change(|st| st.plugged = false);
    }

    /// Plugs the reader back in.
    pub fn replug_reader(&self) {
        self.shared.change(|st| st.plugged = true);
    }

    /// Removes the card right after `n` more APDU exchanges, so exchange `n + 1` fails with
    /// [`CardErrorKind::CardRemoved`]. `0` removes it now. Fires once.
    pub fn remove_after_apdus(&self, n: u32) {
        if n == 0 {
            self.remove();
        } else {
            self.shared.lock().remove_after = Some(n);
        }
    }

    /// Delays every exchange by `delay` (a real reader takes 15-30 ms per APDU).
    pub fn set_apdu_delay(&self, delay: Duration) {
        self.shared.lock().apdu_delay = delay;
    }

    /// Makes the next `wait_for_change` or `transmit` fail with `kind` (e.g.
    /// [`CardErrorKind::ServiceUnavailable`], [`CardErrorKind::ReaderBusy`]).
    pub fn fail_next(&self, kind: CardErrorKind) {
        self.shared.lock().fail_next = Some(kind);
    }

    /// Whether a card is on the reader.
    pub fn is_card_present(&self) -> bool {
        self.shared.lock().card.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl VirtualCard for Echo {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }

        fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
            let mut r = apdu.to_vec();
            r.extend_from_slice(&[0x90, 0x00]);
            r
        }
    }

    struct Broken;

    impl VirtualCard for Broken {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B]
        }

        fn process(&mut self, _apdu: &[u8]) -> Vec<u8> {
            vec![0x90]
        }
    }

    const CMD: [u8; 4] = [0x00, 0xB0, 0x00, 0x00];

    fn kind(r: Result<impl Sized, CardError>) -> CardErrorKind {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn first_wait_reports_current_state_then_times_out_unchanged() {
        let mut reader = SimCardReader::new("sim");
        let started = Instant::now();
        assert_eq!(
            reader.wait_for_change(Duration::from_secs(5)).ok(),
            Some(CardPresence::Absent)
        );
        assert_eq!(
            reader.wait_for_change(Duration::from_millis(30)).ok(),
            Some(CardPresence::Absent)
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn no_card_vs_removed_vs_swapped() {
        let mut reader = SimCardReader::new("sim");
        let control = reader.control();
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::NoCard);
        control.insert(Box::new(Echo));
        assert!(reader.transmit(&CMD).is_ok());
        control.remove();
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::CardRemoved);
        control.insert(Box::new(Echo));
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::CardRemoved);
        assert!(reader.transmit(&CMD).is_ok());
        // After reporting Absent, a missing card is "no card" again.
        control.remove();
        assert_eq!(
            reader.wait_for_change(Duration::ZERO).ok(),
            Some(CardPresence::Absent)
        );
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::NoCard);
    }

    #[test]
    fn unplug_injected_faults_and_broken_transport() {
        let mut reader = SimCardReader::new("sim");
        let control = reader.control();
        control.insert(Box::new(Broken));
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::Transport);
        assert_eq!(kind(reader.transmit(&[0x00])), CardErrorKind::Protocol);
        control.unplug_reader();
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::NoReader);
        assert_eq!(
            kind(reader.wait_for_change(Duration::ZERO)),
            CardErrorKind::NoReader
        );
        control.replug_reader();
        control.fail_next(CardErrorKind::ServiceUnavailable);
        assert_eq!(
            kind(reader.wait_for_change(Duration::ZERO)),
            CardErrorKind::ServiceUnavailable
        );
        control.fail_next(CardErrorKind::ReaderBusy);
        let err = reader.transmit(&CMD).expect_err("injected");
        assert_eq!(err.kind(), CardErrorKind::ReaderBusy);
        assert!(err.to_string().contains("sim"), "{err}");
    }

    #[test]
    fn removal_during_apdu_delay() {
        let mut reader = SimCardReader::new("sim");
        let control = reader.control();
        control.insert(Box::new(Echo));
        control.set_apdu_delay(Duration::from_millis(200));
        let remover = {
            let control = control.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                control.remove();
            })
        };
        assert_eq!(kind(reader.transmit(&CMD)), CardErrorKind::CardRemoved);
        remover.join().expect("remover thread");
    }
}
