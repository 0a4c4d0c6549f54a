//! The keepalived.conf corpus under tests/keepalived: every keyword ldirector reads is used
//! in full.conf; invalid/ holds files whose `# expect:` lines name each diagnostic.

use ldirector::config::{self, toml_format, Format, LoadOptions, Severity};
use std::path::{Path, PathBuf};

fn corpus(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keepalived")
        .join(sub)
}

fn load(path: &Path) -> config::Loaded {
    config::load(
        path,
        &LoadOptions {
            format: None,
            config_id: Some("lb1".into()),
        },
    )
}

fn json(cfg: &config::Config) -> String {
    serde_json::to_string_pretty(cfg).expect("model serialises")
}

#[test]
fn full_corpus_is_valid_and_complete() {
    let l = load(&corpus("full.conf"));
    assert!(l.is_valid(), "{}", l.diags.render());
    // the deliberately empty include pattern, the ~SEQ services without a protocol
    // (UDP, as keepalived makes them; one line, one warning), an nb_get_retry and a
    // fwmark service's protocol (ignored, as keepalived ignores it)
    assert_eq!(l.diags.warning_count(), 4, "{}", l.diags.render());
    assert_eq!(
        l.diags.render().matches("without 'protocol'").count(),
        1,
        "{}",
        l.diags.render()
    );
    let c = &l.config;
    let g = &c.global_defs;
    let start = g.startup_script.as_ref().expect("startup_script");
    assert_eq!(start.argv, ["/usr/local/sbin/fwmarks", "add"]);
    assert_eq!(start.user.as_deref(), Some("root"));
    assert_eq!(g.startup_script_timeout.as_duration().as_secs(), 20);
    assert!(g.shutdown_script.is_some());
    assert_eq!(g.shutdown_script_timeout.as_duration().as_secs(), 10);
    let hp = &c.vrrp_track_process["haproxy"];
    assert_eq!(hp.process, "/usr/sbin/haproxy");
    assert_eq!(hp.params, ["-Ws", "-f", "/etc/haproxy/haproxy.cfg"]);
    assert_eq!(
        hp.param_match,
        Some(ldirector::config::model::ParamMatch::Partial)
    );
    assert_eq!((hp.weight.0, hp.weight_reverse), (-30, true));
    assert_eq!((hp.quorum, hp.quorum_max), (1, Some(4)));
    assert_eq!(hp.terminate_delay.as_micros(), 500_000);
    assert_eq!(hp.fork_delay.as_micros(), 1_000_000);
    assert_eq!(
        c.vrrp_sync_group["DIRECTORS"].track_process[0].name,
        "haproxy"
    );
    assert_eq!(c.vrrp_instance.len(), 3);
    assert_eq!(c.vrrp_script.len(), 2);
    assert_eq!(c.track_file.len(), 2, "track_file and vrrp_track_file");
    // services.conf 1, more.conf 3 + ~SEQ 3, @lb1 1
    assert_eq!(c.virtual_server.len(), 8);
    let front = &c.vrrp_instance["VI_FRONT"];
    assert_eq!(
        front.virtual_ipaddress.len(),
        4,
        "multi-line $VIPS expands to two"
    );
    assert_eq!(
        front.virtual_ipaddress[0].label.as_deref(),
        Some("eth0:vip")
    );
    assert_eq!(front.effective.sync_group.as_deref(), Some("DIRECTORS"));
    let web = &c.virtual_server[0];
    assert_eq!(web.port, Some(80), "$WEB_PORT from the including file");
    let kinds: Vec<&str> = web
        .real_server
        .iter()
        .flat_map(|r| r.checkers.iter().map(|c| c.kind.keyword()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "HTTP_GET",
            "TCP_CHECK",
            "SSL_GET",
            "SMTP_CHECK",
            "MISC_CHECK",
            "DNS_CHECK",
            "UDP_CHECK",
            "PING_CHECK",
            "FILE_CHECK"
        ]
    );
    let seq: Vec<String> = c.virtual_server[4..7]
        .iter()
        .map(|v| v.describe())
        .collect();
    assert_eq!(
        seq,
        [
            "203.0.113.1:80/UDP",
            "203.0.113.2:80/UDP",
            "203.0.113.3:80/UDP"
        ]
    );
    assert_eq!(c.virtual_server[6].real_server[0].effective.weight.get(), 3);
    assert_eq!(c.virtual_server[3].describe(), "[2001:db8::200]:443/TCP");
    assert_eq!(c.virtual_server[1].describe(), "fwmark 7");
    assert_eq!(
        c.virtual_server[7].describe(),
        "192.0.2.101:443/TCP",
        "the @lb1 lines"
    );
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let l = config::load(
        &corpus("full.conf"),
        &LoadOptions {
            format: None,
            config_id: Some("lb2".into()),
        },
    );
    // lb2 does not get lb1's virtual server but gets the @^lb1 line, an unknown keyword
    assert!(!l.is_valid());
    let r = l.diags.render();
    assert!(
        r.contains("unknown keyword 'this_line_is_not_for_lb1'"),
        "{r}"
    );
    assert_eq!(l.config.virtual_server.len(), 7);
}

/// The contract later work relies on: a keepalived.conf and its converted TOML give the
/// same model, byte for byte as JSON.
#[test]
fn keepalived_and_converted_toml_give_the_same_model() {
    let mut files = vec![corpus("full.conf")];
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("conf")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "conf") {
            files.push(p);
        }
    }
    for f in files {
        let a = load(&f);
        assert!(a.is_valid(), "{}: {}", f.display(), a.diags.render());
        let t = toml_format::write(&a.config).unwrap();
        let b = config::load_str("converted.toml", &t, Format::Toml, None);
        assert!(
            b.is_valid(),
            "{}: converted TOML invalid:\n{}\n{t}",
            f.display(),
            b.diags.render()
        );
        assert_eq!(json(&a.config), json(&b.config), "{}", f.display());
        // and writing again is stable
        assert_eq!(toml_format::write(&b.config).unwrap(), t);
    }
}

#[test]
fn example_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // conf/demo: the demo's directors
    files.extend(
        std::fs::read_dir(dir.join("demo"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    let mut n = 0;
    for p in files.into_iter().filter(|p| p.is_file()) {
        let l = load(&p);
        assert!(l.is_valid(), "{}: {}", p.display(), l.diags.render());
        assert_eq!(
            l.diags.warning_count(),
            0,
            "{}: {}",
            p.display(),
            l.diags.render()
        );
        n += 1;
    }
    assert!(n >= 4, "conf/ has the example configurations");
}

/// Each file of `dir` lists its diagnostics as `# expect: LINE:COL: SEVERITY: TEXT`: each
/// must appear, and no diagnostic of a severity whose count the caller fixes. Returns the
/// number of files.
fn corpus_reports_what_it_expects(dir: &str, valid: bool) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expects.is_empty(), "{} has no expectations", f.display());
        let l = load(f);
        let lines: Vec<String> = l.diags.items.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            l.is_valid(),
            valid,
            "{} should be {}:\n{}",
            f.display(),
            if valid { "valid" } else { "invalid" },
            lines.join("\n")
        );
        for e in &expects {
            let (pos, rest) = e.split_once(": ").unwrap();
            let prefix = format!("{}:{pos}: ", f.display());
            assert!(
                lines.iter().any(|d| d.starts_with(&prefix)
                    && d[prefix.len()..].starts_with(rest.split(": ").next().unwrap())
                    && d.contains(rest.split_once(": ").map_or(rest, |x| x.1))),
                "{}: expected `{e}`, got:\n{}",
                f.display(),
                lines.join("\n")
            );
        }
        // invalid files: every error expected; files keepalived runs: every warning
        let (severity, word) = if valid {
            (Severity::Warning, ": warning: ")
        } else {
            (Severity::Error, ": error: ")
        };
        let want = expects.iter().filter(|e| e.contains(word)).count();
        let got = l
            .diags
            .items
            .iter()
            .filter(|d| d.severity == severity)
            .count();
        assert_eq!(
            want,
            got,
            "{}: unexpected{word}\n{}",
            f.display(),
            lines.join("\n")
        );
    }
    files.len()
}

#[test]
fn invalid_corpus_reports_what_it_expects() {
    assert!(corpus_reports_what_it_expects("invalid", false) >= 8);
}

/// Configurations keepalived runs with a fallback it logs (`keepalived -t` exits 5 and
/// keepalived runs): ldirector runs them too, each fallback a warning at its line.
#[test]
fn fallback_corpus_runs_with_a_warning_for_each_fallback() {
    assert!(corpus_reports_what_it_expects("fallbacks", true) >= 8);
}

/// The fallbacks change the model as keepalived changes its instances.
#[test]
fn fallbacks_change_what_keepalived_changes() {
    let l = load(&corpus("fallbacks/owner.conf"));
    assert_eq!(l.config.vrrp_instance["VI_OWNER"].priority.get(), 255);
    assert_eq!(l.config.vrrp_instance["VI_BACKUP"].priority.get(), 100);
    let l = load(&corpus("fallbacks/stock.conf"));
    let i = &l.config.vrrp_instance["VI_1"];
    assert!(i.authentication.is_none());
    assert_eq!(i.state, config::model::InitialState::Backup);
    assert_eq!(
        l.config.virtual_server[1].protocol,
        config::model::Protocol::Udp
    );
    let l = load(&corpus("fallbacks/ipv6_version.conf"));
    use config::model::VrrpVersion::{V2, V3};
    for (name, v) in [("V6_UNSET", V3), ("V4_GLOBAL", V2), ("V6_TWO", V3)] {
        assert_eq!(l.config.vrrp_instance[name].effective.version, v, "{name}");
    }
    let l = load(&corpus("fallbacks/lvs_syncd_interface.conf"));
    let s = l.config.global_defs.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (s.interface.as_str(), s.vrrp_instance.as_str()),
        ("eth1", "VI_1")
    );
    let l = load(&corpus("fallbacks/script_without_script.conf"));
    assert!(l.config.vrrp_script.is_empty());
    assert!(l.config.vrrp_instance["VI_1"].track_script.is_empty());
    assert!(l.config.vrrp_sync_group["G"].track_script.is_empty());
    let l = load(&corpus("fallbacks/obsolete.conf"));
    let vs = &l.config.virtual_server[0];
    assert_eq!(vs.persistence_timeout, None);
    let retries: Vec<Option<u32>> = vs.real_server.iter().map(|r| r.checkers[0].retry).collect();
    assert_eq!(retries, [Some(3), Some(2), Some(4)]);
    let l = load(&corpus("fallbacks/sched.conf"));
    let g = &l.config.global_defs;
    assert_eq!(
        (g.vrrp_rt_priority, g.vrrp_priority, g.vrrp_rlimit_rttime),
        (Some(99), Some(-10), Some(20_000))
    );
    assert_eq!(
        (
            g.checker_rt_priority,
            g.checker_rlimit_rttime,
            g.checker_cpu_affinity.clone()
        ),
        (Some(5), Some(5000), vec![1])
    );
    let l = load(&corpus("fallbacks/mapped.conf"));
    let g = &l.config.global_defs;
    assert_eq!(g.max_auto_priority, Some(5));
    assert_eq!(g.vrrp_startup_delay.as_duration().as_millis(), 1500);
    assert!(l.config.vrrp_instance["VI_1"].promote_secondaries);
    let l = load(&corpus("fallbacks/services.conf"));
    let vs = &l.config.virtual_server;
    assert!(!vs[0].ops);
    assert_eq!(vs[1].persistence_timeout, Some(360));
    let l = load(&corpus("fallbacks/unicast_prefix.conf"));
    let i = &l.config.vrrp_instance["VI_U"];
    assert_eq!(i.unicast_src_ip, Some("192.0.2.91".parse().unwrap()));
    assert_eq!(
        i.unicast_peer[0].address,
        "192.0.2.92".parse::<std::net::IpAddr>().unwrap()
    );
}
