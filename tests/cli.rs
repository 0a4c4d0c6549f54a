//! The `ldirector` binary's check and convert commands, as an operator runs them.

use std::path::Path;
use std::process::{Command, Output};

fn ldirector(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldirector"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ldirector")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_valid_exits_zero() {
    let o = ldirector(&["check", "-f", "conf/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("conf/keepalived.conf: valid (0 warnings)"));
}

#[test]
fn check_invalid_exits_one_with_located_errors() {
    let o = ldirector(&["check", "-f", "tests/keepalived/invalid/ranges.conf"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("tests/keepalived/invalid/ranges.conf:8:14: error: priority: '0' is outside the range 1..=255"),
        "{e}"
    );
    // the source line and a caret under the column
    assert!(e.contains("    priority 0\n                 ^\n"), "{e}");
    assert!(e.contains("invalid: 4 errors"), "{e}");
}

#[test]
fn check_missing_file_fails() {
    let o = ldirector(&["check", "-f", "no/such/file.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no/such/file.conf:1:1: error: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn warnings_do_not_fail_check() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.conf");
    std::fs::write(&f, "global_defs {\n    enable_snmp_vrrp\n}\n").unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(":2:5: warning: 'enable_snmp_vrrp' is not supported by ldirector"));
}

#[test]
fn an_empty_configuration_warns() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.conf");
    std::fs::write(&f, "! nothing yet\n").unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("empty.conf:1:1: warning: the configuration defines no vrrp_instance, virtual_server or anycast"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dump_json_is_the_effective_model() {
    let o = ldirector(&["check", "-f", "conf/ldirector.toml", "--dump-json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let inst = &v["vrrp_instance"]["VI_FRONT"];
    assert_eq!(inst["priority"], 150);
    assert_eq!(inst["effective"]["version"], 2);
    assert_eq!(inst["effective"]["mcast_group"], "224.0.0.18");
    let check = &v["virtual_server"][0]["real_server"][0]["check"][0];
    assert_eq!(
        check["effective"]["delay_loop"], "5s",
        "inherited from the virtual server"
    );
    assert_eq!(check["effective"]["connect_timeout"], "2s");
    // stable order: the same bytes every time
    let again = ldirector(&["check", "-f", "conf/ldirector.toml", "--dump-json"]);
    assert_eq!(o.stdout, again.stdout);
}

#[test]
fn convert_then_check_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.toml");
    let o = ldirector(&[
        "convert",
        "-f",
        "conf/keepalived.conf",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = ldirector(&["check", "-f", "conf/keepalived.conf", "--dump-json"]);
    let b = ldirector(&["check", "-f", out.to_str().unwrap(), "--dump-json"]);
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert_eq!(a.stdout, b.stdout);
    // and the converted file equals the hand-written TOML example's model
    let c = ldirector(&["check", "-f", "conf/ldirector.toml", "--dump-json"]);
    assert_eq!(
        a.stdout, c.stdout,
        "conf/keepalived.conf and conf/ldirector.toml say the same"
    );
}

#[test]
fn convert_refuses_invalid_input() {
    let o = ldirector(&["convert", "-f", "tests/keepalived/invalid/names.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

#[test]
fn format_flag_overrides_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("config.txt");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/ldirector.toml"),
        &f,
    )
    .unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap(), "--format", "toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "read as keepalived.conf it is not valid"
    );
}

#[test]
fn host_checks_find_missing_interfaces_and_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.conf");
    std::fs::write(
        &f,
        "vrrp_instance A {\n interface no-such-if0\n virtual_router_id 1\n notify_master /no/such/script\n virtual_ipaddress { 192.0.2.1 }\n}\n",
    )
    .unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "host-independent by default: {}",
        stderr(&o)
    );
    let o = ldirector(&["check", "--host", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(":2:2: error: interface 'no-such-if0' does not exist on this host"),
        "{e}"
    );
    assert!(e.contains("script '/no/such/script'"), "{e}");
}

/// A notify FIFO that cannot be made (no folder) or opened (a regular file in its place)
/// is refused by `check --host` at its line, not at the start.
#[test]
fn host_checks_find_unusable_notify_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.conf");
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    std::fs::write(
        &f,
        format!(
            "global_defs {{\n vrrp_notify_fifo {}/missing/fifo\n lvs_notify_fifo {}\n notify_fifo {}/fine\n}}\n",
            dir.path().display(),
            file.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let o = ldirector(&["check", "--host", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(":2:2: error: vrrp_notify_fifo: ") && e.contains("missing' does not exist"),
        "{e}"
    );
    assert!(
        e.contains(":3:2: error: lvs_notify_fifo: ") && e.contains("is not a FIFO"),
        "{e}"
    );
    assert!(!e.contains(":4:2: error"), "{e}");
}

#[test]
fn http_listen_must_be_an_address_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.toml");
    std::fs::write(&f, "[global_defs]\nhttp_listen = \"localhost\"\n").unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "l.toml:2:15: error: 'localhost' is not an address and port: expected ADDR:PORT"
        ),
        "{}",
        stderr(&o)
    );
    std::fs::write(&f, "[global_defs]\nhttp_listen = \"[::1]:9650\"\n").unwrap();
    assert_eq!(
        ldirector(&["check", "-f", f.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

/// An anycast block on a device this host lacks, with an unknown route protocol and a
/// metric out of range: refused with each line and column.
#[test]
fn anycast_blocks_are_checked_against_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.conf");
    std::fs::write(
        &f,
        "anycast A {\n address 192.0.2.9\n device no-such-if0\n method route\n route_protocol nosuchproto\n notify_up /no/such/script\n}\n",
    )
    .unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ldirector(&["check", "--host", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(":3:2: error: device 'no-such-if0' does not exist on this host"),
        "{e}"
    );
    assert!(
        e.contains(":5:2: error: route_protocol: unknown route protocol 'nosuchproto'"),
        "{e}"
    );
    assert!(e.contains("script '/no/such/script'"), "{e}");
    std::fs::write(
        &f,
        "anycast A {\n address 192.0.2.9\n method route\n metric 4294967296\n}\n",
    )
    .unwrap();
    let o = ldirector(&["check", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains(":4:9: error: metric: '4294967296' is outside the range 0..=4294967295"),
        "{}",
        stderr(&o)
    );
}

/// `ldirector upgrade` against a daemon from before upgrades (it answers "unknown
/// request"): exit 2, the case the packages restart instead; and one that refuses: exit 1.
#[test]
fn upgrade_tells_a_daemon_too_old_from_a_refusal() {
    use std::io::{BufRead, BufReader, Write};
    for (answer, code, said) in [
        (
            r#"{"error":"unknown request 'upgrade' (expected reload, status or anycast)"}"#,
            2,
            "too old",
        ),
        (
            r#"{"ok":false,"error":"the binary /usr/sbin/ldirector is missing"}"#,
            1,
            "is missing",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("ldirector.sock")).unwrap();
        let server = std::thread::spawn(move || {
            // a status, then the upgrade request
            for _ in 0..2 {
                let (mut c, _) = listener.accept().unwrap();
                let mut line = String::new();
                BufReader::new(&c).read_line(&mut line).unwrap();
                let reply = match line.trim() {
                    "status" => {
                        r#"{"version":"0.0.9","config":"x","uptime_s":1.0,"vrrp":[],"virtual_servers":[],"ipvs":false,"pid":42}"#
                    }
                    _ => answer,
                };
                writeln!(c, "{reply}").unwrap();
            }
        });
        let o = ldirector(&["upgrade", "--run-dir", &dir.path().display().to_string()]);
        server.join().unwrap();
        assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
        assert!(stderr(&o).contains(said), "{}", stderr(&o));
    }
}
