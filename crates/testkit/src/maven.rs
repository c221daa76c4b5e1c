//! Jars fetched from Maven Central for a POM, cached beside a copy of that POM.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::process::run_checked;
use crate::unique_name;

/// The dependencies of `pom_path` in `<home>/libs`, fetched by Maven on first use (into a
/// temporary folder, then renamed) and cached: the POM copied into the cache says what it
/// holds, so a changed POM fetches again. `what` names the jars in progress lines.
///
/// # Panics
/// With Maven's output when the fetch fails.
pub(crate) fn pom_libs(pom_path: &Path, home: &Path, what: &str) -> PathBuf {
    let pom =
        std::fs::read(pom_path).unwrap_or_else(|e| panic!("reading {}: {e}", pom_path.display()));
    let libs = home.join("libs");
    if std::fs::read(libs.join(".pom.xml")).is_ok_and(|cached| cached == pom) {
        return libs;
    }
    let started = Instant::now();
    eprintln!("fetching {what} from Maven Central…");
    let tmp = home.join(unique_name("libs_tmp"));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("creating {}: {e}", tmp.display()));
    let mut mvn = Command::new("mvn");
    mvn.args(["-q", "-B", "-Dstyle.color=never", "-f"])
        .arg(pom_path)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", tmp.display()));
    run_checked(&mut mvn, &format!("fetching {what} from Maven Central"));
    std::fs::write(tmp.join(".pom.xml"), &pom).expect("writing the POM stamp");
    // Another test binary may have fetched the same jars meanwhile and may be running them:
    // keep its copy. Only a stale copy (another POM) is replaced.
    if std::fs::read(libs.join(".pom.xml")).is_ok_and(|cached| cached == pom) {
        let _ = std::fs::remove_dir_all(&tmp);
        return libs;
    }
    let _ = std::fs::remove_dir_all(&libs);
    if std::fs::rename(&tmp, &libs).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    eprintln!(
        "fetched {what} into {} in {:?}",
        libs.display(),
        started.elapsed()
    );
    libs
}
