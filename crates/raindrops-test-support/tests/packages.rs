//! Every requirement's package is one `.ci/run` installs and the README's table names.

use raindrops_test_support::external::ALL;

/// A file of the workspace, by its path from the root.
fn workspace_file(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap()
}

#[test]
fn ci_installs_every_package() {
    let ci = workspace_file(".ci/run");
    let installed: Vec<&str> = ci
        .split("apt-get install")
        .nth(1)
        .expect("an apt-get install in .ci/run")
        .split(">/dev/null")
        .next()
        .unwrap()
        .split_whitespace()
        .filter(|word| !word.starts_with('-') && *word != "\\")
        .collect();
    for requirement in ALL {
        assert!(installed.contains(&requirement.package()), "{requirement}: not in {installed:?}");
    }
}

#[test]
fn the_readme_names_every_package() {
    let readme = workspace_file("README.md");
    for requirement in ALL {
        assert!(readme.contains(&format!("`{}`", requirement.package())), "{requirement}");
    }
}
