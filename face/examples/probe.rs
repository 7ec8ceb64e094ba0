//! Prints detections, pose, quality and pairwise distances of photos (calibration aid).
//! `cargo run -p kiosk-face --example probe -- IMG...`
use kiosk_face::{engine::FaceModels, portrait, quality};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = FaceModels::load(&kiosk_face::default_models_dir())?;
    let mut embs = Vec::new();
    for path in std::env::args().skip(1) {
        let img = portrait::decode(&std::fs::read(&path)?)?;
        let p = models.prepare(&img);
        let t = std::time::Instant::now();
        let dets = models.detect_for_photo(&p);
        let dt = t.elapsed();
        let luma = img.to_luma();
        for d in &dets {
            let (s, m) = quality::face_stats(
                quality::Luma {
                    width: img.width,
                    height: img.height,
                    data: &luma,
                },
                &d.observation.face,
            );
            println!(
                "{path} {}x{} face {:?} pose {:?} sharp {s:.0} luma {m:.0} detect {dt:?}",
                img.width,
                img.height,
                d.observation.face,
                d.observation.landmarks.pose()
            );
        }
        if let Some(d) = dets.first() {
            embs.push((path.clone(), models.embed(&p, d)?));
        }
    }
    for i in 0..embs.len() {
        for j in i + 1..embs.len() {
            println!(
                "{} {} {:.4}",
                embs[i].0,
                embs[j].0,
                embs[i].1.distance(&embs[j].1)
            );
        }
    }
    Ok(())
}
