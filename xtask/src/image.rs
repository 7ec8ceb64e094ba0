//! `cargo xtask image`: the kiosk's bootable GPT disk image, built from files without Docker
//! and without loop mounts (so it runs in a container as root, as CI does).
//!
//! 1. host tools from Debian (debootstrap, genimage, mtools, dosfstools, e2fsprogs);
//! 2. `debootstrap --variant=minbase bookworm` with `image-build/packages.txt` into
//!    `<target>/image/rootfs` (kept between runs: a later run installs only what the list
//!    gained, with apt-get in the chroot);
//! 3. the release `kiosk` and `kioskctl` (`--release --locked`), the face models (checked by
//!    SHA-256, see data.rs), `image-build/rootfs/` (units, fstab, network, journald) copied in;
//!    the `kiosk` user; units enabled; `ldd` in the chroot proves every library is there;
//! 4. the manifest of installed package versions (dpkg-query) at /usr/share/kiosk/manifest.txt
//!    and beside the image;
//! 5. the ESP staged from `image-build/esp/` plus systemd-boot, the kernel and the initramfs;
//! 6. genimage (`image-build/genimage.cfg`) assembles `<target>/image/out/kiosk.img`.
//!
//! Nothing built is committed; the recipe (image-build/) is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, root, run};
use anyhow::{bail, Context, Result};

/// Debian host tools the image build needs, with the reason for each.
pub const HOST_TOOLS: &[(&str, &str)] = &[
    ("debootstrap", "the root file system (bookworm, minbase)"),
    (
        "genimage",
        "assembles the GPT image from partition images, no loop mounts",
    ),
    ("mtools", "genimage writes the FAT partition with mcopy"),
    (
        "dosfstools",
        "genimage formats the FAT partition with mkfs.fat",
    ),
    ("e2fsprogs", "genimage makes the ext4 root with mke2fs -d"),
];

const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
/// The release binaries the image carries.
const BINARIES: &[&str] = &["kiosk", "kioskctl"];
/// Where the face models go (the default `face.models_dir`).
const MODELS_DIR: &str = "usr/share/cccd-kiosk/face";
/// Units enabled in the image.
const ENABLE: &[&str] = &[
    "kiosk.service",
    "kiosk-provision.service",
    "pcscd.socket",
    "systemd-networkd.service",
    "systemd-networkd-wait-online.service",
    "systemd-timesyncd.service",
    "systemd-resolved.service",
];

/// The cargo target folder (CARGO_TARGET_DIR, else `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Where the image work happens: `<target>/image`.
pub fn work_dir() -> PathBuf {
    target_dir().join("image")
}

/// The finished image.
pub fn image_path() -> PathBuf {
    work_dir().join("out/kiosk.img")
}

/// Builds the image; prints where it is, its size and how long it took.
pub fn build() -> Result<()> {
    let t = Instant::now();
    crate::apt_ensure(HOST_TOOLS)?;
    let root = root();
    let recipe = root.join("image-build");
    let work = work_dir();
    std::fs::create_dir_all(&work)?;
    let rootfs = work.join("rootfs");

    let packages = read_package_list(&recipe.join("packages.txt"))?;
    let t_base = Instant::now();
    base_system(&rootfs, &packages)?;
    let base_secs = t_base.elapsed().as_secs_f64();

    // The binaries, built for this image.
    run(cargo().args([
        "build",
        "--release",
        "--locked",
        "-p",
        "kiosk-app",
        "--bin",
        "kiosk",
        "-p",
        "kiosk-provisioning",
        "--bin",
        "kioskctl",
    ]))?;
    let release = target_dir().join("release");
    let mut binary_lines = Vec::new();
    for b in BINARIES {
        let src = release.join(b);
        let dest = rootfs.join("usr/bin").join(b);
        copy(&src, &dest)?;
        binary_lines.push(format!("{b} sha256:{}", sha256_hex(&dest)?));
    }
    // The face models, checked against their pinned SHA-256 (data.rs fetches them if needed).
    crate::data::ensure(&root).context("the face models")?;
    let models = rootfs.join(MODELS_DIR);
    std::fs::create_dir_all(&models)?;
    for f in crate::data::face_models() {
        let src = root.join(".kiosk-data").join(f.path);
        if sha256_hex(&src)? != f.sha256 {
            bail!("{} does not have its pinned SHA-256", src.display());
        }
        let name = src.file_name().context("model file name")?;
        copy(&src, &models.join(name))?;
        binary_lines.push(format!("{} sha256:{}", f.path, f.sha256));
    }
    copy(
        &recipe.join("README.md"),
        &rootfs.join("usr/share/kiosk/README.md"),
    )?;

    // The recipe's files (units, fstab, network, journald) over the base system.
    copy_tree(&recipe.join("rootfs"), &rootfs)?;
    std::fs::create_dir_all(rootfs.join("boot/efi"))?;
    configure(&rootfs)?;
    check_libraries(&rootfs)?;
    // The initramfs mounts the state partition and the kiosk's machine ID (the recipe's
    // initramfs-tools hook and script, copied above).
    let t_initrd = Instant::now();
    run(chroot(&rootfs).args(["update-initramfs", "-u", "-k", "all"]))
        .context("update-initramfs in the root")?;
    let initrd_secs = t_initrd.elapsed().as_secs_f64();

    // The manifest: every installed package and version, then the kiosk's own files.
    let manifest = manifest(&rootfs, &binary_lines)?;
    let out = work.join("out");
    std::fs::create_dir_all(&out)?;
    std::fs::write(rootfs.join("usr/share/kiosk/manifest.txt"), &manifest)?;
    std::fs::write(out.join("kiosk.manifest.txt"), &manifest)?;

    let esp = stage_esp(&rootfs, &recipe.join("esp"), &work.join("esp"))?;
    let t_gen = Instant::now();
    assemble(&recipe.join("genimage.cfg"), &rootfs, &esp, &work)?;
    let gen_secs = t_gen.elapsed().as_secs_f64();
    let img = image_path();
    let size = std::fs::metadata(&img)?.len();
    eprintln!(
        "xtask: image: {} ({} MiB) in {:.0} s (base system {:.0} s, initramfs {:.0} s, \
         genimage {:.0} s); manifest {}",
        img.display(),
        size / (1 << 20),
        t.elapsed().as_secs_f64(),
        base_secs,
        initrd_secs,
        gen_secs,
        out.join("kiosk.manifest.txt").display()
    );
    Ok(())
}

/// Package names from the list: one a line, `#` comments.
fn read_package_list(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// debootstrap once; later runs install only packages the list gained since.
fn base_system(rootfs: &Path, packages: &[String]) -> Result<()> {
    let done = rootfs.join("var/lib/kiosk-image-base");
    if !done.exists() {
        if rootfs.exists() {
            // A half-finished debootstrap: start again.
            std::fs::remove_dir_all(rootfs)
                .with_context(|| format!("cannot remove {}", rootfs.display()))?;
        }
        run(Command::new("debootstrap")
            .arg("--variant=minbase")
            .arg(format!("--include={}", packages.join(",")))
            .arg(SUITE)
            .arg(rootfs)
            .arg(MIRROR))
        .context("debootstrap failed (network to deb.debian.org?)")?;
        std::fs::write(&done, "debootstrap done\n")?;
        return Ok(());
    }
    let missing: Vec<&String> = packages
        .iter()
        .filter(|p| {
            !chroot(rootfs)
                .args(["dpkg-query", "-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        eprintln!(
            "xtask: image: base system up to date ({})",
            rootfs.display()
        );
        return Ok(());
    }
    // apt-get in the chroot needs a resolver: the host's, in place of the image's own
    // (configure() points it back at systemd-resolved's stub).
    let resolv = rootfs.join("etc/resolv.conf");
    let _ = std::fs::remove_file(&resolv);
    std::fs::copy("/etc/resolv.conf", &resolv).context("copying /etc/resolv.conf")?;
    let result = run(chroot(rootfs).args(["apt-get", "update", "-qq"])).and_then(|()| {
        run(chroot(rootfs)
            .args(["apt-get", "install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    });
    result?;
    run(chroot(rootfs).args(["apt-get", "clean"]))
}

fn chroot(rootfs: &Path) -> Command {
    let mut c = Command::new("chroot");
    c.arg(rootfs).env("LC_ALL", "C");
    c
}

/// The kiosk user, hostname, enabled units, masked console login on the kiosk screen.
fn configure(rootfs: &Path) -> Result<()> {
    let has_user = chroot(rootfs)
        .args(["getent", "passwd", "kiosk"])
        .output()
        .is_ok_and(|o| o.status.success());
    // Only the device groups it needs: screen and camera (video, render), touch (input), the
    // speaker (audio), a USB printer-class printer (lp) or a serial one (dialout).
    const GROUPS: &str = "video,input,render,audio,lp,dialout";
    if has_user {
        // A root kept from an earlier build: the same groups, exactly.
        run(chroot(rootfs).args(["usermod", "--groups", GROUPS, "kiosk"]))?;
    } else {
        run(chroot(rootfs).args([
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--groups",
            GROUPS,
            "kiosk",
        ]))?;
    }
    // The FAT partition is readable by the kiosk group (provision.toml: kiosk-provision.service
    // and the technician screen run as the kiosk user); vfat takes a numeric group only.
    let gid = chroot(rootfs)
        .args(["getent", "group", "kiosk"])
        .output()
        .context("getent group kiosk")?;
    let gid = String::from_utf8_lossy(&gid.stdout)
        .split(':')
        .nth(2)
        .map(str::trim)
        .filter(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .context("the kiosk group has no numeric id")?;
    let fstab = rootfs.join("etc/fstab");
    let text = std::fs::read_to_string(&fstab).context("reading etc/fstab")?;
    if !text.contains("@KIOSK_GID@") {
        bail!("etc/fstab has no @KIOSK_GID@ for the FAT partition's group");
    }
    std::fs::write(&fstab, text.replace("@KIOSK_GID@", &gid)).context("writing etc/fstab")?;
    // The kiosk's state and cache folders exist in the image (on the state partition), so
    // systemd's StateDirectory=/CacheDirectory= only check their owner at start: creating them
    // on a full partition would fail the units before kioskctl could tell the technician why.
    run(chroot(rootfs).args([
        "install",
        "-d",
        "-o",
        "kiosk",
        "-g",
        "kiosk",
        "-m",
        "0700",
        "/var/lib/kiosk",
        "/var/cache/kiosk",
    ]))?;
    run(chroot(rootfs).arg("systemctl").arg("enable").args(ENABLE))?;
    // Name resolution through systemd-resolved (DHCP's DNS servers), not the build host's.
    let resolv = rootfs.join("etc/resolv.conf");
    let _ = std::fs::remove_file(&resolv);
    std::os::unix::fs::symlink("../run/systemd/resolve/stub-resolv.conf", &resolv)
        .context("linking /etc/resolv.conf")?;
    // No login prompt under the kiosk screen; the serial console stays for the technician's
    // laptop (root has no password: nobody logs in without provisioning one).
    run(chroot(rootfs).args(["systemctl", "mask", "getty@tty1.service"]))?;
    // vsmartcard-vpcd is in the root for its driver only (the boot test's virtual card): its
    // reader.conf would make pcscd listen on port 35963 of every interface for a card anyone
    // on the network could pose as. The shipped image has none; `cargo xtask image-test`
    // writes one into its copy.
    match std::fs::remove_file(rootfs.join("etc/reader.conf.d/vpcd")) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).context("removing /etc/reader.conf.d/vpcd"),
    }
    // Every kiosk its own machine ID, made by systemd at its first boot: the one debootstrap
    // wrote would be shared by every kiosk flashed from this image (networkd derives the DHCP
    // client identifier from it: kiosks on one network would ask for the same address).
    std::fs::write(rootfs.join("etc/machine-id"), "").context("emptying /etc/machine-id")?;
    let dbus_id = rootfs.join("var/lib/dbus/machine-id");
    if dbus_id.exists() || dbus_id.is_symlink() {
        std::fs::remove_file(&dbus_id).context("removing /var/lib/dbus/machine-id")?;
    }
    std::os::unix::fs::symlink("/etc/machine-id", &dbus_id)
        .context("linking /var/lib/dbus/machine-id")?;
    // An empty machine ID makes that boot a first boot: systemd-firstboot would ask on the
    // console for a locale and a time zone, and nobody is there to answer (provisioning
    // configures the kiosk). The presets (rootfs/etc/systemd/system-preset) enable nothing.
    run(chroot(rootfs).args(["systemctl", "mask", "systemd-firstboot.service"]))?;
    // apt's timers would download Debian's package lists every day onto the state partition:
    // a kiosk is updated by a new image, not by apt.
    run(chroot(rootfs).args([
        "systemctl",
        "disable",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
    ]))?;
    // The machine ID is bind-mounted from the state partition (initramfs-tools script
    // kiosk-state), not a temporary one to commit to the read-only root.
    run(chroot(rootfs).args(["systemctl", "mask", "systemd-machine-id-commit.service"]))?;
    // The journal directory makes Storage=persistent take effect from the first boot.
    std::fs::create_dir_all(rootfs.join("var/log/journal"))?;
    Ok(())
}

/// Every shared library the binaries link is in the image.
fn check_libraries(rootfs: &Path) -> Result<()> {
    for b in BINARIES {
        let out = chroot(rootfs)
            .args(["ldd", &format!("/usr/bin/{b}")])
            .output()
            .context("ldd in the chroot")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<&str> = text.lines().filter(|l| l.contains("not found")).collect();
        if !out.status.success() || !missing.is_empty() {
            bail!(
                "{b} needs libraries the image lacks (add their packages to \
                 image-build/packages.txt):\n{}",
                missing.join("\n")
            );
        }
    }
    Ok(())
}

fn manifest(rootfs: &Path, own: &[String]) -> Result<String> {
    let out = chroot(rootfs)
        .args([
            "dpkg-query",
            "-W",
            "-f=${Package}=${Version} ${Architecture}\n",
        ])
        .output()
        .context("dpkg-query in the chroot")?;
    if !out.status.success() {
        bail!("dpkg-query failed in the chroot");
    }
    let mut pkgs: Vec<&str> = std::str::from_utf8(&out.stdout)?.lines().collect();
    pkgs.sort_unstable();
    let mut m = format!(
        "# CCCD kiosk image manifest: Debian {SUITE} packages installed (dpkg-query), then the \
         kiosk's own files with their SHA-256.\n# kiosk {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for p in pkgs {
        m.push_str(p);
        m.push('\n');
    }
    m.push_str("# kiosk files\n");
    for l in own {
        m.push_str(l);
        m.push('\n');
    }
    Ok(m)
}

/// The ESP's files: the recipe's (loader entries, provision.toml.example), systemd-boot, the
/// newest kernel and its initramfs.
fn stage_esp(rootfs: &Path, recipe_esp: &Path, esp: &Path) -> Result<PathBuf> {
    if esp.exists() {
        std::fs::remove_dir_all(esp)?;
    }
    copy_tree(recipe_esp, esp)?;
    let boot = rootfs.join("usr/lib/systemd/boot/efi/systemd-bootx64.efi");
    copy(&boot, &esp.join("EFI/BOOT/BOOTX64.EFI"))?;
    copy(&boot, &esp.join("EFI/systemd/systemd-bootx64.efi"))?;
    let newest = |prefix: &str| -> Result<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(rootfs.join("boot"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.ends_with("-amd64"))
            })
            .collect();
        found.sort();
        found
            .pop()
            .with_context(|| format!("no /boot/{prefix}*-amd64 in the root file system"))
    };
    copy(&newest("vmlinuz-")?, &esp.join("vmlinuz"))?;
    copy(&newest("initrd.img-")?, &esp.join("initrd.img"))?;
    Ok(esp.to_path_buf())
}

/// genimage: partition images and the GPT disk, in `<work>/out`.
fn assemble(cfg: &Path, rootfs: &Path, esp: &Path, work: &Path) -> Result<()> {
    let all_bytes = du_bytes(rootfs)?;
    let var_bytes = du_bytes(&rootfs.join("var"))?;
    let mib = |bytes: u64, extra_mib: u64| -> Result<u64> {
        bytes
            .checked_mul(13)
            .map(|b| b / 10 / (1 << 20) + extra_mib)
            .context("file system size")
    };
    // The read-only root: 30 % headroom for ext4's own blocks and a little more.
    let root_mib = mib(all_bytes.saturating_sub(var_bytes), 64)?;
    // The state partition (/var): 30 % plus 1 GiB for the queue, the journal (200 MB at most)
    // and receipts.
    let state_mib = mib(var_bytes, 1024)?;
    let text = std::fs::read_to_string(cfg)?
        .replace("@ROOT_SIZE@", &format!("{root_mib}M"))
        .replace("@STATE_SIZE@", &format!("{state_mib}M"));
    let cfg_out = work.join("genimage.cfg");
    std::fs::write(&cfg_out, text)?;
    let tmp = work.join("genimage-tmp");
    let out = work.join("out");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    for stale in ["kiosk.img", "esp.vfat", "root.ext4", "state.ext4"] {
        let _ = std::fs::remove_file(out.join(stale));
    }
    run(Command::new("genimage")
        .arg("--config")
        .arg(&cfg_out)
        .arg("--rootpath")
        .arg(rootfs)
        .arg("--inputpath")
        .arg(esp)
        .arg("--outputpath")
        .arg(&out)
        .arg("--tmppath")
        .arg(&tmp))?;
    let _ = std::fs::remove_dir_all(&tmp);
    // The partition images are inside kiosk.img; keep only the disk.
    for part in ["esp.vfat", "root.ext4", "state.ext4"] {
        let _ = std::fs::remove_file(out.join(part));
    }
    Ok(())
}

fn du_bytes(dir: &Path) -> Result<u64> {
    let out = Command::new("du")
        .args(["-sb", "--apparent-size"])
        .arg(dir)
        .output()
        .context("du")?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .context("du gave no size")
}

fn copy(src: &Path, dest: &Path) -> Result<()> {
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(src, dest)
        .with_context(|| format!("cannot copy {} to {}", src.display(), dest.display()))?;
    Ok(())
}

/// Copies a folder's files over another, keeping the relative paths.
fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&to)?;
            copy_tree(&entry.path(), &to)?;
        } else {
            copy(&entry.path(), &to)?;
        }
    }
    Ok(())
}

fn sha256_hex(path: &Path) -> Result<String> {
    crate::data::sha256_file(path).with_context(|| format!("cannot read {}", path.display()))
}
