//! What a release ships, held together without building it: `cargo binstall`'s templates
//! (Cargo.toml) name exactly the archives `scripts/dist` makes for exactly the targets the
//! release workflow builds, at the tag the workflow accepts; and `scripts/dist` refuses what
//! it cannot do (a wrong tag, a missing maturin or zig) with the fix, leaving no `dist/`
//! behind. The build itself is the `dist` job of `.github/workflows/ci.yml` (a second release
//! build, too slow for every `.ci/run`). No server is needed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// The `key = "value"` lines of one table of Cargo.toml (enough for its flat tables).
fn cargo_table(table: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut inside = false;
    for line in read("Cargo.toml").lines() {
        if line.starts_with('[') {
            inside = line == format!("[{table}]");
        } else if let (true, Some((key, value))) = (inside, line.split_once(" = ")) {
            if let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                fields.insert(key.trim().to_string(), value.to_string());
            }
        }
    }
    fields
}

/// What a script printed and how it ended.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `path ARGS…` from the top of the checkout; with `env`, in an environment of only those
/// variables (PATH among them).
fn script(path: &str, args: &[&str], env: Option<&[(&str, String)]>) -> Ran {
    let mut command = Command::new(root().join(path));
    command.args(args).current_dir(root());
    if let Some(env) = env {
        command.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    let output = command.output().expect("cannot run the script");
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The targets the release workflow's build matrix lists.
fn release_targets() -> Vec<String> {
    read(".github/workflows/release.yml")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- target: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn binstall_names_the_archives_the_release_uploads() {
    let package = cargo_table("package");
    let binstall = cargo_table("package.metadata.binstall");
    let (name, version, repo) = (
        &package["name"],
        &package["version"],
        &package["repository"],
    );
    assert_eq!(
        binstall["pkg-fmt"], "tgz",
        "scripts/dist makes .tar.gz archives"
    );

    let targets = release_targets();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin"
        ]
    );
    for target in &targets {
        // cargo-binstall's template, filled in as it fills it for this target.
        let fill = |template: &str| {
            template
                .replace("{ repo }", repo)
                .replace("{ name }", name)
                .replace("{ version }", version)
                .replace("{ target }", target)
                .replace("{ archive-suffix }", ".tar.gz")
                .replace("{ bin }", name)
                .replace("{ binary-ext }", "")
        };
        let made = script("scripts/dist", &["--names", "--target", target], None);
        assert_eq!((made.code, made.stderr.as_str()), (0, ""));
        let stem = format!("{name}-{version}-{target}");
        assert_eq!(
            made.stdout,
            format!("archive {stem}.tar.gz\nchecksum {stem}.tar.gz.sha256\nbinary {stem}/{name}\n")
        );
        let names: BTreeMap<&str, &str> = made
            .stdout
            .lines()
            .filter_map(|line| line.split_once(' '))
            .collect();
        // The release is made at the tag v<version> (the workflow checks it) and holds every
        // file of dist/.
        assert_eq!(
            fill(&binstall["pkg-url"]),
            format!("{repo}/releases/download/v{version}/{}", names["archive"])
        );
        assert_eq!(fill(&binstall["bin-dir"]), names["binary"]);
    }
}

#[test]
fn the_release_workflow_has_the_lines_the_archive_names_rely_on() {
    let workflow = read(".github/workflows/release.yml");
    for line in [
        "    tags: [\"v*\"]",
        "      - run: scripts/dist --check-tag \"$GITHUB_REF_NAME\"",
        "          gh release create \"$GITHUB_REF_NAME\" dist/* --repo \"$GITHUB_REPOSITORY\" \\",
        "          path: dist/*",
    ] {
        assert!(
            workflow.lines().any(|l| l == line),
            "release.yml no longer has the line {line:?}, on which the names above rely"
        );
    }
}

#[test]
fn a_tag_that_is_not_the_version_stops_the_release() {
    let version = &cargo_table("package")["version"];
    let wrong = script("scripts/dist", &["--check-tag", "v9.9.9-not-it"], None);
    assert_eq!(wrong.code, 1);
    assert_eq!(wrong.stdout, "");
    assert_eq!(
        wrong.stderr,
        format!(
            "error: the tag 'v9.9.9-not-it' is not Cargo.toml's version ({version}): tag the \
             commit whose Cargo.toml says the version you release (v{version} here), or set \
             Cargo.toml's version and tag again\n"
        )
    );
    let right = script(
        "scripts/dist",
        &["--check-tag", &format!("v{version}")],
        None,
    );
    assert_eq!(
        (right.code, right.stdout.as_str(), right.stderr.as_str()),
        (
            0,
            "",
            format!("the tag v{version} is Cargo.toml's version\n").as_str()
        )
    );
}

/// A PATH of its own holding only what scripts/dist needs before its tool checks, plus
/// `extra` (name, script text) for the tools a case pretends are there.
fn bare_path(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    // A Python of its own (a virtual environment without pip): whatever the machine's Python
    // has installed (maturin, ziglang), this one has nothing.
    let venv = bin.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("python3 is needed to run scripts/dist");
    assert!(made.success(), "python3 -m venv failed");
    // Called by its own path, so that Python finds the environment's pyvenv.cfg (through a
    // symlink elsewhere it would be the base interpreter, with the base's packages).
    let python = format!(
        "#!/bin/sh\nexec '{}' \"$@\"\n",
        venv.join("bin/python3").display()
    );
    for tool in ["bash", "dirname", "awk", "sed"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("{tool} not found in /usr/bin or /bin"));
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    for (name, text) in std::iter::once(&("python3", python.as_str())).chain(extra) {
        let path = bin.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    }
    bin
}

#[test]
fn without_maturin_or_zig_dist_says_what_to_install_and_makes_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("dist");
    let out_arg = out.to_str().unwrap();
    let args = ["--target", "x86_64-unknown-linux-gnu", "--out", out_arg];
    let only_path = |bin: &Path| vec![("PATH", bin.display().to_string())];

    let bin = bare_path(&[]);
    let ran = script("scripts/dist", &args, Some(&only_path(bin.path())));
    assert_eq!((ran.code, ran.stdout.as_str()), (1, ""));
    assert_eq!(
        ran.stderr,
        "error: maturin not found on PATH: install it from PyPI with 'python3 -m pip install \
         maturin ziglang' (or into a virtual environment whose bin/ is on PATH), then re-run\n"
    );

    // A maturin that must not be reached: the zig check comes first.
    let bin = bare_path(&[("maturin", "#!/bin/sh\necho 'maturin ran' >&2\nexit 1\n")]);
    let ran = script("scripts/dist", &args, Some(&only_path(bin.path())));
    assert_eq!((ran.code, ran.stdout.as_str()), (1, ""));
    assert_eq!(
        ran.stderr,
        "error: zig not found: Linux wheels are linked against glibc 2.17 with zig; install it \
         from PyPI with 'python3 -m pip install ziglang' (or put zig on PATH), then re-run\n"
    );
    assert_eq!(entries(scratch.path()), Vec::<String>::new());
}

/// The names in a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_build_that_fails_half_way_leaves_no_dist_and_no_staging_folder() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("dist");
    // A maturin that "builds" a wheel that is not one: scripts/dist gets as far as reading it.
    let version = &cargo_table("package")["version"];
    let wheel =
        format!("cruddur-{version}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    let maturin = format!(
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --out ] && out=$2; shift; done\n\
         mkdir -p \"$out\" && echo 'not a zip' > \"$out/{wheel}\"\n"
    );
    let bin = bare_path(&[("maturin", &maturin)]);
    let env = [
        ("PATH", format!("{}:/usr/bin:/bin", bin.path().display())),
        ("ZIG_COMMAND", "zig-is-not-needed-here".to_string()),
    ];
    let args = [
        "--target",
        "x86_64-unknown-linux-gnu",
        "--out",
        out.to_str().unwrap(),
    ];
    let ran = script("scripts/dist", &args, Some(&env));
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (
            1,
            "",
            format!(
                "building the wheel for x86_64-unknown-linux-gnu…\nerror: the wheel {wheel} holds \
                 no cruddur executable\n"
            )
            .as_str()
        )
    );
    // Nothing in the folder it was to fill, nor beside it.
    assert_eq!(entries(scratch.path()), Vec::<String>::new());
}

#[test]
fn dist_refuses_a_target_it_does_not_release() {
    let ran = script(
        "scripts/dist",
        &["--names", "--target", "x86_64-pc-windows-msvc"],
        None,
    );
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (
            1,
            "",
            "error: no wheel is made for the target 'x86_64-pc-windows-msvc': the releases are \
             x86_64/aarch64 Linux (gnu) and macOS\n"
        )
    );
}
