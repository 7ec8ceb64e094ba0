//! Shared set-up for the UI tests: a headless platform with the software renderer,
//! the window wired to the Fluent catalogue, and golden-PNG comparison.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::rc::Rc;

use kiosk_app::i18n::Catalog;
use kiosk_ui::{AppWindow, Kiosk, LanguageOption, Tr};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

/// A headless platform: Slint's software renderer in memory, on the testing backend's mock
/// clock (`i_slint_backend_testing::mock_elapsed_time` advances it). The testing backend's
/// own rasteriser needs its `renderer-software` feature, which this workspace does not enable.
struct HeadlessPlatform;

impl slint::platform::Platform for HeadlessPlatform {
    fn create_window_adapter(
        &self,
    ) -> Result<Rc<dyn slint::platform::WindowAdapter>, slint::PlatformError> {
        Ok(MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer))
    }

    fn duration_since_start(&self) -> std::time::Duration {
        std::time::Duration::from_millis(i_slint_backend_testing::get_mocked_time())
    }
}

/// Installs the headless platform. One call per test process: each `ui_*.rs` file holds a
/// single `#[test]`.
pub fn init_backend() {
    slint::platform::set_platform(Box::new(HeadlessPlatform))
        .expect("platform already initialised");
}

/// A window wired like the kiosk wires it: `Tr.t`/`Tr.ta`/`Tr.tl` look up the catalogue in
/// `Kiosk.language` (or the given language), and the languages come from the catalogue.
pub fn window(width: u32, height: u32) -> AppWindow {
    let ui = AppWindow::new().unwrap();
    let catalog = Rc::new(Catalog::embedded().unwrap());
    let tr = ui.global::<Tr>();
    let (c, weak) = (catalog.clone(), ui.as_weak());
    tr.on_t(move |key, _revision| {
        let lang = weak
            .upgrade()
            .map(|ui| ui.global::<Kiosk>().get_language())
            .unwrap_or_default();
        c.t(&lang, &key).into()
    });
    let (c, weak) = (catalog.clone(), ui.as_weak());
    tr.on_ta(move |key, value, _revision| {
        let lang = weak
            .upgrade()
            .map(|ui| ui.global::<Kiosk>().get_language())
            .unwrap_or_default();
        c.ta(&lang, &key, &value).into()
    });
    let c = catalog.clone();
    tr.on_tl(move |lang, key, _revision| c.t(&lang, &key).into());
    let langs: Vec<LanguageOption> = catalog
        .languages()
        .into_iter()
        .map(|(code, name)| LanguageOption {
            code: code.into(),
            name: name.into(),
        })
        .collect();
    ui.global::<Kiosk>()
        .set_languages(ModelRc::new(VecModel::from(langs)));
    ui.window()
        .set_size(slint::PhysicalSize::new(width, height));
    ui.show().unwrap();
    ui
}

/// Switches language as the controller does: set it, then bump `Tr.revision`.
pub fn set_language(ui: &AppWindow, lang: &str) {
    ui.global::<Kiosk>().set_language(SharedString::from(lang));
    let tr = ui.global::<Tr>();
    tr.set_revision(tr.get_revision() + 1);
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Renders the window and compares it with `tests/snapshots/<name>.png`.
/// `UPDATE_SNAPSHOTS=1` (re)writes the golden; a mismatch writes `<name>.new.png` and
/// returns a message.
pub fn check_snapshot(ui: &AppWindow, name: &str) -> Result<(), String> {
    let shot = ui
        .window()
        .take_snapshot()
        .map_err(|e| format!("{name}: snapshot failed: {e}"))?;
    let (w, h) = (shot.width(), shot.height());
    let pixels: Vec<u8> = shot.as_bytes().to_vec();
    let golden = snapshot_dir().join(format!("{name}.png"));
    let fresh = snapshot_dir().join(format!("{name}.new.png"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some()
        || !golden.exists() && std::env::var_os("CI").is_none()
    {
        write_png(&golden, w, h, &pixels);
        let _ = std::fs::remove_file(&fresh);
        return Ok(());
    }
    let (gw, gh, want) = read_png(&golden);
    if (gw, gh) != (w, h) {
        write_png(&fresh, w, h, &pixels);
        return Err(format!(
            "{name}: size {w}x{h} differs from golden {gw}x{gh}; see {}",
            fresh.display()
        ));
    }
    // Small tolerance for rasteriser rounding: a pixel differs when a channel is off by more
    // than 24; fail when more than 0.05 % of the pixels differ.
    let differing = pixels
        .chunks_exact(4)
        .zip(want.chunks_exact(4))
        .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
        .count();
    let allowed = (w * h) as usize / 2000;
    if differing > allowed {
        write_png(&fresh, w, h, &pixels);
        return Err(format!(
            "{name}: {differing} pixels differ from {} (allowed {allowed}); look at {} and run \
             with UPDATE_SNAPSHOTS=1 if the change is intended",
            golden.display(),
            fresh.display()
        ));
    }
    let _ = std::fs::remove_file(&fresh);
    Ok(())
}

fn write_png(path: &Path, w: u32, h: u32, rgba: &[u8]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(rgba).unwrap();
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "{}: golden must be RGBA",
        path.display()
    );
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}
