//! `face-eval`: error rates of the face verifier on the packaged image set (run it through
//! `cargo xtask face-eval`; `cargo xtask test` runs it with `--check`).
//!
//! The set (fetched by `cargo xtask setup`, never committed):
//! - PyPI `face_recognition` 1.3.0 test images: five photos of one person (genuine pairs) and
//!   one of another;
//! - the scikit-image 0.22.0 wheel's `astronaut.png`: a third person;
//! - npm `@vladmandic/face-api` 1.7.15 demo group photos: every face is another person. Faces
//!   of *different* group photos are not compared (the set does not say who is who).
//!
//! Synthetic degradations of each genuine photo (blur, low light with noise, 15 degree roll,
//! and a chip-like portrait: head and shoulders, 240 px wide, JPEG 2000 at 20:1 via
//! `opj_compress`, decoded by our
//! own JPEG 2000 path) are compared with the person's *other* photos.
//!
//! ```text
//! face-eval [--images DIR] [--models DIR] [--threshold T] [--check BASELINE.toml]
//! ```
//! `--check` exits 1 if FNMR at the threshold is above the baseline's `max_fnmr`, or if the
//! failure-to-acquire count is above `max_fta`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kiosk_face::engine::{Embedding, FaceModels};
use kiosk_face::eval::{at_fmr, det_curve, rates_at, rule_of_three};
use kiosk_face::portrait::{self, RgbImage};
use kiosk_face::{degrade, verify::DEFAULT_THRESHOLD};

/// Labelled single-person photos: (file, identity).
const LABELLED: &[(&str, &str)] = &[
    ("obama.jpg", "A"),
    ("obama2.jpg", "A"),
    ("obama3.jpg", "A"),
    ("obama_partial_face.jpg", "A"),
    ("obama_partial_face2.jpg", "A"),
    ("biden.jpg", "B"),
    ("astronaut.png", "C"),
];
/// Group photos: every face a different person.
const GROUPS: &[&str] = &[
    "group-sample1.jpg",
    "group-sample2.jpg",
    "group-sample3.jpg",
    "group-sample4.jpg",
    "group-sample5.jpg",
    "group-sample6.jpg",
];

struct Sample {
    name: String,
    identity: String,
    /// Source photo (degradations share it); group faces: the photo.
    source: String,
    /// A degraded copy (compared only with other photos of the identity).
    degraded: bool,
    /// Group photo faces are compared only within their photo and with labelled people.
    group: bool,
    emb: Embedding,
}

struct Args {
    images: PathBuf,
    models: PathBuf,
    threshold: f32,
    check: Option<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let root = kiosk_face::default_models_dir();
    let mut a = Args {
        images: root.join("..").join("face-images"),
        models: root,
        threshold: DEFAULT_THRESHOLD,
        check: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--images" => a.images = val()?.into(),
            "--models" => a.models = val()?.into(),
            "--threshold" => {
                a.threshold = val()?.parse().map_err(|e| format!("--threshold: {e}"))?
            }
            "--check" => a.check = Some(val()?.into()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// JPEG 2000 round trip at `ratio`:1 (encoded by `opj_compress`, decoded by our decoder).
fn jp2_round_trip(img: &RgbImage, ratio: u32, tmp: &Path) -> Result<RgbImage, String> {
    let bytes = degrade::encode_jp2(img, ratio, tmp)?;
    portrait::decode(&bytes).map_err(|e| e.to_string())
}

fn largest_box(models: &FaceModels, img: &RgbImage) -> Option<kiosk_face::geometry::FaceBox> {
    let p = models.prepare(img);
    models
        .detect_for_photo(&p)
        .iter()
        .map(|d| d.observation.face)
        .max_by(|a, b| a.area().total_cmp(&b.area()))
}

fn largest(models: &FaceModels, img: &RgbImage) -> Option<Embedding> {
    let p = models.prepare(img);
    let dets = models.detect_for_photo(&p);
    let best = dets.iter().max_by(|a, b| {
        a.observation
            .face
            .area()
            .total_cmp(&b.observation.face.area())
    })?;
    models.embed(&p, best).ok()
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("face-eval: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let a = parse()?;
    let models = FaceModels::load(&a.models).map_err(|e| e.to_string())?;
    let tmp = tempdir()?;
    let mut samples: Vec<Sample> = Vec::new();
    let mut attempts = 0usize;
    let mut fta: Vec<String> = Vec::new();
    let read = |f: &str| -> Result<RgbImage, String> {
        let path = a.images.join(f);
        let bytes = std::fs::read(&path).map_err(|e| {
            format!(
                "{}: {e}; run `cargo xtask setup` to fetch the evaluation images",
                path.display()
            )
        })?;
        portrait::decode(&bytes).map_err(|e| format!("{f}: {e}"))
    };
    for &(file, id) in LABELLED {
        let orig = degrade::fit(&read(file)?, 800);
        let mut variants: Vec<(String, RgbImage, bool)> =
            vec![(file.to_string(), degrade::fit(&orig, 800), false)];
        if id == "A" {
            variants.push((format!("{file}+blur"), degrade::blur(&orig, 2), true));
            variants.push((
                format!("{file}+lowlight"),
                degrade::low_light(&orig, 0.3, 6.0, 11),
                true,
            ));
            variants.push((format!("{file}+roll15"), degrade::rotate(&orig, 15.0), true));
            // A chip portrait is head and shoulders (ICAO 9303: the head is 50-75% of the
            // width): crop around the face, 240 px wide, JPEG 2000 at 20:1.
            if let Some(face) = largest_box(&models, &orig) {
                let chip = degrade::fit(&degrade::crop_around(&orig, &face, 1.8), 240);
                variants.push((
                    format!("{file}+chip-jp2"),
                    jp2_round_trip(&chip, 20, &tmp)?,
                    true,
                ));
            }
        }
        for (name, img, degraded) in variants {
            attempts += 1;
            match largest(&models, &img) {
                Some(emb) => samples.push(Sample {
                    name,
                    identity: id.into(),
                    source: file.into(),
                    degraded,
                    group: false,
                    emb,
                }),
                None => fta.push(name),
            }
        }
    }
    let mut group_faces = 0;
    for &file in GROUPS {
        let img = degrade::fit(&read(file)?, 1920);
        let p = models.prepare(&img);
        let dets = models.detect_for_photo(&p);
        for (k, d) in dets.iter().enumerate() {
            if let Ok(emb) = models.embed(&p, d) {
                group_faces += 1;
                samples.push(Sample {
                    name: format!("{file}#{k}"),
                    identity: format!("{file}#{k}"),
                    source: file.into(),
                    degraded: false,
                    group: true,
                    emb,
                });
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let mut worst_genuine = (0f32, String::new());
    let mut closest_impostor = (f32::INFINITY, String::new());
    for i in 0..samples.len() {
        for j in i + 1..samples.len() {
            let (x, y) = (&samples[i], &samples[j]);
            let d = x.emb.distance(&y.emb);
            if x.identity == y.identity {
                // Same person: only different source photos, and never two degradations.
                if x.source == y.source || (x.degraded && y.degraded) {
                    continue;
                }
                genuine.push(d);
                if d > worst_genuine.0 {
                    worst_genuine = (d, format!("{} / {}", x.name, y.name));
                }
            } else {
                if x.group && y.group && x.source != y.source {
                    continue;
                }
                impostor.push(d);
                if d < closest_impostor.0 {
                    closest_impostor = (d, format!("{} / {}", x.name, y.name));
                }
            }
        }
    }
    let at_t = rates_at(&genuine, &impostor, a.threshold);
    let op = at_fmr(&genuine, &impostor, 0.001);
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| images | {} labelled photos of 3 people, {} group photos ({group_faces} faces) |",
        LABELLED.len(),
        GROUPS.len()
    );
    println!(
        "| samples | {} attempted from labelled photos (incl. 4 degradations x 5 genuine photos), {} failed to acquire{} |",
        attempts,
        fta.len(),
        if fta.is_empty() { String::new() } else { format!(" ({})", fta.join(", ")) }
    );
    println!("| genuine comparisons | {} |", genuine.len());
    println!("| impostor comparisons | {} |", impostor.len());
    println!(
        "| at threshold {:.2} | FNMR {:.4} ({} of {}), FMR {:.4} ({} of {}) |",
        a.threshold,
        at_t.fnmr,
        (at_t.fnmr * genuine.len() as f64).round(),
        genuine.len(),
        at_t.fmr,
        (at_t.fmr * impostor.len() as f64).round(),
        impostor.len()
    );
    if let Some(op) = op {
        println!(
            "| FNMR at FMR 0.1% | {:.4} at threshold {:.3}; with {} impostor comparisons the lowest observable FMR is {:.4}, so this is the zero-false-match point |",
            op.fnmr,
            op.threshold,
            impostor.len(),
            1.0 / impostor.len().max(1) as f64
        );
    }
    println!(
        "| 95% upper bounds with zero errors | FNMR {:.3}, FMR {:.3} (rule of three) |",
        rule_of_three(genuine.len()),
        rule_of_three(impostor.len())
    );
    println!(
        "| largest genuine distance | {:.3} ({}) |",
        worst_genuine.0, worst_genuine.1
    );
    println!(
        "| smallest impostor distance | {:.3} ({}) |",
        closest_impostor.0, closest_impostor.1
    );
    println!();
    println!("DET points (threshold: FMR / FNMR):");
    let curve = det_curve(&genuine, &impostor);
    for t in [0.3f32, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7] {
        let p = rates_at(&genuine, &impostor, t);
        println!("  {t:.2}: {:.4} / {:.4}", p.fmr, p.fnmr);
    }
    println!("  ({} distinct operating points in all)", curve.len());

    let Some(path) = a.check else {
        return Ok(true);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let num = |key: &str| -> Result<f64, String> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .ok_or_else(|| format!("{}: no `{key}`", path.display()))?
            .1
            .trim()
            .parse::<f64>()
            .map_err(|e| format!("{}: {key}: {e}", path.display()))
    };
    let max_fnmr = num("max_fnmr")?;
    let max_fta = num("max_fta")?;
    let mut ok = true;
    if at_t.fnmr > max_fnmr {
        eprintln!(
            "face-eval: FNMR {:.4} at threshold {:.2} is above the baseline {max_fnmr:.4}",
            at_t.fnmr, a.threshold
        );
        ok = false;
    }
    if fta.len() as f64 > max_fta {
        eprintln!(
            "face-eval: {} failures to acquire, baseline {max_fta}",
            fta.len()
        );
        ok = false;
    }
    if ok {
        eprintln!("face-eval: within the baseline ({})", path.display());
    }
    Ok(ok)
}

fn tempdir() -> Result<PathBuf, String> {
    let p = std::env::temp_dir().join(format!("face-eval-{}", std::process::id()));
    std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}
