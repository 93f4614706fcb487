//! The command line as a user runs it (also makes `cargo test` build the binary that the
//! end-to-end tests start as separate processes).

use std::process::Command;

fn shopwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shopwatch"))
}

#[test]
fn config_check_accepts_a_valid_file_and_names_every_problem_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        r#"
[[ingest.shops]]
platform = "pinduoduo"
shop_id = "123"
api = "aggregator"
endpoint = "http://127.0.0.1:8080/tool/erps/traderates"
token = { env = "PDD_TEST_TOKEN" }
"#,
    )
    .unwrap();
    let output = shopwatch()
        .args(["config", "check", "--config"])
        .arg(&good)
        .env("PDD_TEST_TOKEN", "secret-token-value")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok; embedded"), "{stdout}");
    assert!(stdout.contains("1 shop(s)"), "{stdout}");
    assert!(!stdout.contains("secret-token-value"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "queue_capacity = 0\ntopic_prefix = \"has space\"\n").unwrap();
    let output = shopwatch()
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("queue_capacity") && stderr.contains("topic_prefix"),
        "{stderr}"
    );
}

#[test]
fn a_stage_role_without_kafka_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("embedded.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let output = shopwatch()
        .args(["enrich", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[kafka]"), "{stderr}");
}

#[test]
fn the_readme_example_config_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("```toml\n").expect("README has a toml example") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readme.toml");
    std::fs::write(&path, &readme[start..end]).unwrap();
    let output = shopwatch()
        .args(["config", "check", "--config"])
        .arg(&path)
        .env("TOP_APP_SECRET", "s")
        .env("TOP_SESSION", "s")
        .env("AGGREGATOR_TOKEN", "s")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
