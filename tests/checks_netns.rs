//! Health checks of `ldirector run` against real servers in network namespaces: nginx
//! (HTTP and HTTPS with a self-signed certificate, SNI and a client certificate), aiosmtpd
//! (SMTP), dnsmasq (DNS, and UDP_CHECK on it), ICMP, MISC scripts, a track_file. Faults are
//! real: a stopped server (refused), an nftables drop (timeouts), a slow answer, a wrong
//! status or digest, a hung and a crashing script, flapping. Asserted: the transitions (once
//! each, through notify_up / notify_down), the retry counts (seen in the server's access
//! log) and the destinations the pools ask for (ldirector's log). keepalived's genhash
//! computes the digests the configs use, for a plain and a chunked answer.
//!
//! This kernel has no IPVS: ldirector runs the checks and logs what it would program (the
//! IPVS side is tested in the VM, tests/ipvs_vm.rs). Needs root, iproute2, nftables, nginx,
//! dnsmasq, python3-aiosmtpd, keepalived (genhash) and openssl.

mod lab;

use lab::{wait_until, Lab};
use std::path::Path;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);
const RS: &str = "198.51.100.50";

/// The lines the notify scripts wrote: "LABEL up|down".
fn notes(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.path().join("notes"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn count(lab: &Lab, line: &str) -> usize {
    notes(lab).iter().filter(|l| *l == line).count()
}

fn wait_note(lab: &Lab, line: &str, n: usize) -> bool {
    wait_until(LONG, || count(lab, line) >= n)
}

/// notify_up / notify_down lines for a real server, labelled.
fn notify(lab: &Lab, label: &str) -> String {
    let n = lab.path().join("note.sh").display().to_string();
    format!("notify_up \"{n} {label} up\"\n    notify_down \"{n} {label} down\"")
}

fn setup_scripts(lab: &Lab) {
    let notes = lab.path().join("notes");
    script(
        lab,
        "note.sh",
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", notes.display()),
    );
}

fn script(lab: &Lab, name: &str, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = lab.file(name, text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn run_ok(lab: &Lab, ns: &str, args: &[&str]) -> String {
    let o = lab.exec(ns, args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn openssl(args: &[&str]) {
    let o = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// nginx in the server namespace, serving the lab's www folder on :80 and :443.
fn nginx(lab: &mut Lab) -> usize {
    let d = lab.path().to_path_buf();
    let www = d.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello from the real server\n").unwrap();
    // served through SSI: no Content-Length, so HTTP/1.1 answers are chunked
    std::fs::write(
        www.join("chunked.html"),
        "part one\n<!--# echo var=\"ssi_marker\" default=\"part two\" -->\n",
    )
    .unwrap();
    std::fs::write(www.join("slow.txt"), "z".repeat(400)).unwrap();
    let p = |f: &str| d.join(f).display().to_string();
    // a CA, the server's certificate signed by it (for `verify`), and a self-signed
    // client certificate
    let req = |name: &str, cn: &str, extra: &[&str]| {
        let mut a = vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
        ];
        let subj = format!("/CN={cn}");
        let (key, out) = (
            p(&format!("{name}.key")),
            p(&format!(
                "{name}.{}",
                if extra.is_empty() { "csr" } else { "pem" }
            )),
        );
        a.push(&subj);
        a.extend_from_slice(extra);
        a.extend_from_slice(&["-keyout", &key, "-out", &out]);
        openssl(&a);
    };
    req("ca", "Lab CA", &["-x509", "-days", "2"]);
    req(
        "client",
        "director.example",
        &[
            "-x509",
            "-days",
            "2",
            "-addext",
            "subjectAltName=DNS:director.example",
        ],
    );
    req("server", "rs.example", &[]);
    let ext = lab.file(
        "server.ext",
        "subjectAltName=DNS:rs.example\nbasicConstraints=CA:FALSE\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &ext.display().to_string(),
        "-out",
        &p("server.pem"),
    ]);
    let conf = format!(
        r#"user root;
worker_processes 1;
pid {pid};
error_log {err};
events {{ worker_connections 256; }}
http {{
  log_format t '$server_port $uri $status $remote_addr';
  access_log {access} t;
  client_body_temp_path {tmp};
  proxy_temp_path {tmp};
  fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  root {www};
  ssl_certificate {cert};
  ssl_certificate_key {key};
  server {{
    listen {RS}:80;
    listen {RS}:443 ssl default_server;
    location = /health {{
      if (-f {down}) {{ return 503; }}
      return 200 "ok\n";
    }}
    location = /chunked.html {{ ssi on; }}
    location = /slow.txt {{ limit_rate 20; }}
    location = /needs-client {{ return 421 "not the SNI name\n"; }}
  }}
  server {{
    listen {RS}:443 ssl;
    server_name rs.example;
    # only the server chosen by SNI asks for the client certificate
    ssl_client_certificate {client};
    ssl_verify_client optional;
    location = /needs-client {{
      if ($ssl_client_verify != SUCCESS) {{ return 403; }}
      if (-f {down}) {{ return 503; }}
      return 200 "client ok\n";
    }}
  }}
}}
"#,
        pid = p("nginx.pid"),
        err = p("nginx.err"),
        access = p("access.log"),
        tmp = p("nginx-tmp"),
        www = www.display(),
        cert = p("server.pem"),
        key = p("server.key"),
        client = p("client.pem"),
        down = p("down"),
    );
    std::fs::create_dir_all(d.join("nginx-tmp")).unwrap();
    let c = lab.file("nginx.conf", &conf);
    let c = c.display().to_string();
    let i = lab.spawn("server", "nginx", &["nginx", "-c", &c, "-g", "daemon off;"]);
    let up = wait_until(LONG, || {
        lab.exec(
            "server",
            &["genhash", "-s", RS, "-p", "80", "-u", "/health"],
        )
        .status
        .success()
    });
    assert!(up, "nginx: {}", lab.proc(i).log_text());
    i
}

/// Lines of nginx's access log: "PORT URI STATUS CLIENT".
fn access(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.path().join("access.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn genhash(lab: &Lab, args: &[&str]) -> String {
    let mut a = vec!["genhash", "-s", RS];
    a.extend_from_slice(args);
    run_ok(lab, "d1", &a).trim().to_string()
}

fn nft(lab: &Lab, rules: &str) {
    let f = lab.file("rules.nft", rules);
    run_ok(lab, "server", &["nft", "-f", &f.display().to_string()]);
}

fn log_of(lab: &mut Lab, i: usize) -> String {
    lab.proc(i).log_text()
}

#[test]
fn http_get_against_nginx() {
    let mut lab = Lab::new("ckh", 1);
    setup_scripts(&lab);
    nginx(&mut lab);
    // keepalived's genhash gives the digests, for a plain and for a chunked answer
    let digest = genhash(&lab, &["-p", "80", "-u", "/index.html"]);
    let digest11 = genhash(&lab, &["-p", "80", "-u", "/chunked.html", "-P", "1.1"]);
    assert_eq!(digest.len(), 32, "{digest}");
    let verbose = genhash(
        &lab,
        &["-p", "80", "-u", "/chunked.html", "-P", "1.1", "-v"],
    );
    assert!(
        verbose
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "the answer must be chunked: {verbose}"
    );
    let conf = format!(
        r#"
virtual_server 192.0.2.100 80 {{
  protocol TCP
  delay_loop 3
  omega
  real_server {RS} 80 {{
    {n_http}
    HTTP_GET {{
      url {{
        path /health
        status_code 200
      }}
      url {{
        path /index.html
        digest {digest}
      }}
      connect_timeout 1
      retry 2
      delay_before_retry 0.3
    }}
  }}
}}
virtual_server 192.0.2.100 81 {{
  delay_loop 1
  real_server {RS} 80 {{
    {n_chunked}
    HTTP_GET {{
      url {{
        path /chunked.html
        digest {digest11}
      }}
      http_protocol 1.1
      connect_timeout 1
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.100 84 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 80 {{
    {n_slow}
    HTTP_GET {{
      url {{
        path /slow.txt
      }}
      connect_timeout 1
      retry 1
      delay_before_retry 0.2
    }}
  }}
}}
virtual_server 192.0.2.100 85 {{
  protocol TCP
  delay_loop 1
  sorry_server 198.51.100.99 80
  real_server {RS} 80 {{
    {n_digest}
    HTTP_GET {{
      url {{
        path /index.html
        digest 0123456789abcdef0123456789abcdef
      }}
      retry 0
    }}
  }}
}}
"#,
        n_http = notify(&lab, "http"),
        n_chunked = notify(&lab, "chunked"),
        n_slow = notify(&lab, "slow"),
        n_digest = notify(&lab, "digest"),
    );
    let d = lab.ldirector("d1", "ld", &conf);
    // a slow answer (20 bytes/s for 400 bytes) and a wrong digest go down once; the
    // chunked digest from genhash keeps its server up
    assert!(wait_note(&lab, "slow down", 1), "{}", lab.logs());
    assert!(wait_note(&lab, "digest down", 1), "{}", lab.logs());
    let l = log_of(&mut lab, d);
    assert!(
        l.contains("192.0.2.100:85/TCP: sorry_server 198.51.100.99 added"),
        "{l}"
    );
    assert!(
        l.contains("192.0.2.100:85/TCP: real_server 198.51.100.50:80 removed"),
        "{l}"
    );
    // wrong status: down after exactly 1 + retry (2) failed requests
    std::fs::write(lab.path().join("down"), "").unwrap();
    assert!(wait_note(&lab, "http down", 1), "{}", lab.logs());
    let failed = access(&lab)
        .iter()
        .filter(|l| l.starts_with("80 /health 503 "))
        .count();
    assert_eq!(failed, 3, "{:?}", access(&lab));
    std::fs::remove_file(lab.path().join("down")).unwrap();
    assert!(wait_note(&lab, "http up", 1), "{}", lab.logs());
    assert_eq!(count(&lab, "chunked down"), 0, "{:?}", notes(&lab));
    // blackholed: timeouts take it (and the chunked one, same port) down, and back
    nft(
        &lab,
        "table inet bh {\n chain in {\n type filter hook input priority 0;\n tcp dport 80 drop\n }\n}\n",
    );
    assert!(wait_note(&lab, "http down", 2), "{}", lab.logs());
    run_ok(&lab, "server", &["nft", "delete", "table", "inet", "bh"]);
    assert!(wait_note(&lab, "http up", 2), "{}", lab.logs());
    // flapping: every transition notified once
    for i in 0..3 {
        std::fs::write(lab.path().join("down"), "").unwrap();
        assert!(wait_note(&lab, "http down", 3 + i), "{}", lab.logs());
        std::fs::remove_file(lab.path().join("down")).unwrap();
        assert!(wait_note(&lab, "http up", 3 + i), "{}", lab.logs());
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&lab, "http down"), 5, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "http up"), 5, "{:?}", notes(&lab));
    // the chunked one only moved with the blackhole, the slow and wrong-digest ones once
    assert_eq!(count(&lab, "chunked down"), 1, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "slow down"), 1, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "digest down"), 1, "{:?}", notes(&lab));
    let l = log_of(&mut lab, d);
    assert!(
        l.contains("192.0.2.100:80/TCP: real_server 198.51.100.50:80 added with weight 1"),
        "{l}"
    );
    // a reload (one service more) while a server is failed: the unchanged checkers carry
    // on, the failed server stays failed until its check passes
    std::fs::write(lab.path().join("down"), "").unwrap();
    assert!(wait_note(&lab, "http down", 6), "{}", lab.logs());
    // the chunked service is removed: its live real server gets its down notification
    let (a, b) = (
        conf.find("virtual_server 192.0.2.100 81").unwrap(),
        conf.find("virtual_server 192.0.2.100 84").unwrap(),
    );
    let more = format!("{}{}", &conf[..a], &conf[b..])
        + "virtual_server 192.0.2.100 88 {\n  protocol TCP\n  delay_loop 1\n  real_server 198.51.100.50 80 {\n    TCP_CHECK {\n    }\n  }\n}\n";
    lab.file("ld.conf", &more);
    lab.proc(d).signal(nix::sys::signal::Signal::SIGHUP);
    assert!(
        wait_until(LONG, || log_of(&mut lab, d)
            .contains("reload: 3 checker(s) carry on, 1 new")),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(count(&lab, "http up"), 5, "{:?}", notes(&lab));
    std::fs::remove_file(lab.path().join("down")).unwrap();
    assert!(wait_note(&lab, "http up", 6), "{}", lab.logs());
    assert_eq!(count(&lab, "http down"), 6, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "chunked down"), 2, "{:?}", notes(&lab));
    // stopping: omega runs the down notification of the live server (only where set)
    lab.proc(d).signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
    assert_eq!(count(&lab, "http down"), 7, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "chunked down"), 2, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "slow down"), 1, "{:?}", notes(&lab));
}

#[test]
fn ssl_get_with_sni_and_client_certificate() {
    let mut lab = Lab::new("cks", 1);
    setup_scripts(&lab);
    nginx(&mut lab);
    let dir = lab.path().to_path_buf();
    let p = |f: &str| dir.join(f).display().to_string();
    let conf = format!(
        r#"
SSL {{
  certificate {cert}
  key {key}
}}
virtual_server 192.0.2.100 443 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 443 {{
    {n_tls}
    SSL_GET {{
      url {{
        path /needs-client
        status_code 200
      }}
      virtualhost rs.example
      enable_sni
      sni_name rs.example
      connect_timeout 2
      retry 1
      delay_before_retry 0.2
    }}
  }}
}}
virtual_server 192.0.2.101 443 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 443 {{
    {n_nosni}
    SSL_GET {{
      url {{
        path /needs-client
        status_code 200
      }}
      virtualhost rs.example
      connect_timeout 2
      retry 0
    }}
  }}
}}
"#,
        cert = p("client.pem"),
        key = p("client.key"),
        n_tls = notify(&lab, "tls"),
        n_nosni = notify(&lab, "nosni"),
    );
    let _d = lab.ldirector("d1", "ld", &conf);
    // without SNI the handshake is the default server's, which asks for no client
    // certificate: 403 (or 421), down; with SNI and the client certificate, 200: stays up
    assert!(wait_note(&lab, "nosni down", 1), "{}", lab.logs());
    let served = || {
        access(&lab)
            .iter()
            .filter(|l| l.starts_with("443 /needs-client 200 "))
            .count()
    };
    assert!(wait_until(LONG, || served() >= 2), "{:?}", access(&lab));
    assert_eq!(count(&lab, "tls down"), 0, "{:?}", notes(&lab));
    std::fs::write(lab.path().join("down"), "").unwrap();
    assert!(wait_note(&lab, "tls down", 1), "{}", lab.logs());
    std::fs::remove_file(lab.path().join("down")).unwrap();
    assert!(wait_note(&lab, "tls up", 1), "{}", lab.logs());
    // the TOML config's `verify`: the server's certificate checked against a CA and the
    // SNI name; a name the certificate does not carry fails
    let toml = format!(
        r#"
[ssl.default]
ca = "{ca}"
verify = true

[[virtual_server]]
ip = "192.0.2.110"
port = 443
delay_loop = 1

[[virtual_server.real_server]]
ip = "{RS}"
port = 443
notify_up = "{n} verified up"
notify_down = "{n} verified down"

[[virtual_server.real_server.check]]
type = "SSL_GET"
url = [{{ path = "/health", status_code = [200] }}]
enable_sni = true
sni_name = "rs.example"
retry = 0

[[virtual_server]]
ip = "192.0.2.111"
port = 443
delay_loop = 1

[[virtual_server.real_server]]
ip = "{RS}"
port = 443
notify_up = "{n} wrongname up"
notify_down = "{n} wrongname down"

[[virtual_server.real_server.check]]
type = "SSL_GET"
url = [{{ path = "/health", status_code = [200] }}]
enable_sni = true
sni_name = "other.example"
retry = 0
"#,
        ca = p("ca.pem"),
        n = p("note.sh"),
    );
    let tf = lab.file("ldv.toml", &toml).display().to_string();
    let bin = lab::ldirector_bin();
    let rd = p("ldv.run");
    lab.spawn(
        "d1",
        "ldv",
        &[
            "env",
            "LDIRECTOR_LOG=debug",
            bin.as_str(),
            "run",
            "-f",
            &tf,
            "--run-dir",
            &rd,
        ],
    );
    assert!(wait_note(&lab, "wrongname down", 1), "{}", lab.logs());
    let verified = || {
        access(&lab)
            .iter()
            .filter(|l| l.starts_with("443 /health 200 "))
            .count()
    };
    assert!(wait_until(LONG, || verified() >= 2), "{}", lab.logs());
    assert_eq!(count(&lab, "verified down"), 0, "{:?}", notes(&lab));
    // a stopped server: refused
    let i = 0; // nginx is the lab's first process
    lab.proc(i).signal(nix::sys::signal::Signal::SIGTERM);
    assert!(wait_note(&lab, "tls down", 2), "{}", lab.logs());
    assert_eq!(count(&lab, "nosni down"), 1, "{:?}", notes(&lab));
}

#[test]
fn smtp_dns_udp_ping_misc_and_file_checks() {
    let mut lab = Lab::new("cko", 1);
    setup_scripts(&lab);
    let dir = lab.path().to_path_buf();
    let p = |f: &str| dir.join(f).display().to_string();
    script(
        &lab,
        "hang.sh",
        &format!("#!/bin/sh\necho $$ >> {}\nexec sleep 30\n", p("hang.pids")),
    );
    script(&lab, "crash.sh", "#!/bin/sh\nkill -SEGV $$\n");
    std::fs::write(lab.path().join("tf"), "0\n").unwrap();
    let smtp_args = [
        "/usr/bin/python3",
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        "198.51.100.50:25",
    ];
    let smtp = lab.spawn("server", "aiosmtpd", &smtp_args);
    let dns_args = [
        "dnsmasq",
        "-k",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=198.51.100.50",
        "--port=53",
        "--user=root",
        "--pid-file=",
        "--address=/www.example.test/198.51.100.60",
    ];
    let dns = lab.spawn("server", "dnsmasq", &dns_args);
    // the mail server that receives smtp_alert e-mails (a maildir)
    let maildir = p("maildir");
    lab.spawn(
        "server",
        "mailbox",
        &[
            "/usr/bin/python3",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            "198.51.100.50:2525",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            &maildir,
        ],
    );
    // the servers answer before the director starts (a python server starts slowly on a
    // busy machine: its first check and e-mail would fail, and the test would count them)
    for (proto, port) in [("-t", "25"), ("-t", "2525"), ("-u", "53")] {
        let filter = format!("sport = :{port}");
        assert!(
            wait_until(LONG, || !lab
                .exec("server", &["ss", "-Hln", proto, &filter])
                .stdout
                .is_empty()),
            "nothing listens on {port} ({proto}): {}",
            lab.logs()
        );
    }
    // a DNS query for www.example.test A, ID 0x1234; the answer must echo the ID with QR set
    let query = "1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 0474657374 00 0001 0001";
    let conf = format!(
        r#"
global_defs {{
  router_id lb-test
  notification_email {{
    ops@example.com
  }}
  notification_email_from director@example.com
  smtp_server 198.51.100.50 2525
  smtp_connect_timeout 5
  smtp_helo_name director.example
}}
track_file tf {{
  file {tf}
}}
virtual_server 192.0.2.100 25 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 25 {{
    {n_smtp}
    smtp_alert
    SMTP_CHECK {{
      helo_name director.example
      connect_timeout 2
      retry 1
      delay_before_retry 0.2
    }}
  }}
}}
virtual_server 192.0.2.100 53 {{
  protocol UDP
  delay_loop 1
  real_server {RS} 53 {{
    {n_dns}
    DNS_CHECK {{
      type A
      name www.example.test
      retry 1
      delay_before_retry 0.2
    }}
  }}
}}
virtual_server 192.0.2.101 53 {{
  protocol UDP
  delay_loop 1
  real_server {RS} 53 {{
    {n_refused}
    DNS_CHECK {{
      name nx.other.test
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.102 53 {{
  protocol UDP
  delay_loop 1
  real_server {RS} 53 {{
    {n_udp}
    UDP_CHECK {{
      payload {query}
      require_reply 12 34 8x
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.100 82 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 82 {{
    {n_ping}
    PING_CHECK {{
      connect_timeout 1
      retry 1
      delay_before_retry 0.2
    }}
  }}
}}
virtual_server 192.0.2.100 83 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 83 {{
    {n_hang}
    MISC_CHECK {{
      misc_path {hang}
      misc_timeout 1
    }}
  }}
}}
virtual_server 192.0.2.100 86 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 86 {{
    {n_crash}
    MISC_CHECK {{
      misc_path {crash}
    }}
  }}
}}
virtual_server 192.0.2.100 87 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 87 {{
    weight 3
    FILE_CHECK {{
      track_file tf
      weight 2
    }}
  }}
}}
"#,
        tf = p("tf"),
        hang = p("hang.sh"),
        crash = p("crash.sh"),
        n_smtp = notify(&lab, "smtp"),
        n_dns = notify(&lab, "dns"),
        n_refused = notify(&lab, "refused"),
        n_udp = notify(&lab, "udp"),
        n_ping = notify(&lab, "ping"),
        n_hang = notify(&lab, "hang"),
        n_crash = notify(&lab, "crash"),
    );
    let d = lab.ldirector("d1", "ld", &conf);
    // the hung and the crashing scripts and the refused name go down, once
    for l in ["hang down", "crash down", "refused down"] {
        assert!(wait_note(&lab, l, 1), "{l}: {}", lab.logs());
    }
    // the hung script's process group was killed at misc_timeout
    let first: i32 = std::fs::read_to_string(lab.path().join("hang.pids"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        wait_until(LONG, || !Path::new(&format!("/proc/{first}")).exists()),
        "the hung MISC_CHECK script {first} still runs"
    );
    // the track_file: 3 + 4 x 2
    std::fs::write(lab.path().join("tf"), "4\n").unwrap();
    assert!(
        wait_until(LONG, || log_of(&mut lab, d).contains(
            "192.0.2.100:87/TCP: real_server 198.51.100.50:87 weight 3 -> 11"
        )),
        "{}",
        lab.logs()
    );
    // SMTP server stopped: refused, down; started again: up
    lab.proc(smtp).signal(nix::sys::signal::Signal::SIGTERM);
    assert!(wait_note(&lab, "smtp down", 1), "{}", lab.logs());
    lab.spawn("server", "aiosmtpd2", &smtp_args);
    assert!(wait_note(&lab, "smtp up", 1), "{}", lab.logs());
    // smtp_alert: both transitions reached the mail server, in keepalived's words
    let mails = || -> String {
        let mut all = String::new();
        for d in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(Path::new(&maildir).join(d)) {
                for e in rd.flatten() {
                    // headers unfolded
                    all += &std::fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .replace("\r\n", "\n")
                        .replace("\n ", " ");
                }
            }
        }
        all
    };
    let subject = |s: &str| {
        format!("Subject: [lb-test] Realserver [198.51.100.50]:tcp:25 of virtual server [192.0.2.100]:tcp:25 - {s}")
    };
    assert!(
        wait_until(LONG, || mails().contains(&subject("DOWN"))
            && mails().contains(&subject("UP"))),
        "{}\n{}",
        mails(),
        lab.logs()
    );
    let m = mails();
    assert!(m.contains("From: director@example.com"), "{m}");
    assert!(m.contains("To: ops@example.com"), "{m}");
    assert!(m.contains("=> CHECK failed on service <="), "{m}");
    assert_eq!(
        m.matches("Realserver").count(),
        2,
        "only the smtp_alert one: {m}"
    );
    // DNS server stopped: both the DNS_CHECK and the UDP_CHECK go down, and come back
    lab.proc(dns).signal(nix::sys::signal::Signal::SIGTERM);
    assert!(wait_note(&lab, "dns down", 1), "{}", lab.logs());
    assert!(wait_note(&lab, "udp down", 1), "{}", lab.logs());
    lab.spawn("server", "dnsmasq2", &dns_args);
    assert!(wait_note(&lab, "dns up", 1), "{}", lab.logs());
    assert!(wait_note(&lab, "udp up", 1), "{}", lab.logs());
    // ICMP dropped: PING_CHECK down; allowed again: up
    nft(
        &lab,
        "table inet bh {\n chain in {\n type filter hook input priority 0;\n icmp type echo-request drop\n }\n}\n",
    );
    assert!(wait_note(&lab, "ping down", 1), "{}", lab.logs());
    run_ok(&lab, "server", &["nft", "delete", "table", "inet", "bh"]);
    assert!(wait_note(&lab, "ping up", 1), "{}", lab.logs());
    std::thread::sleep(Duration::from_secs(1));
    for (l, n) in [
        ("hang down", 1),
        ("crash down", 1),
        ("refused down", 1),
        ("hang up", 0),
        ("smtp down", 1),
        ("dns down", 1),
        ("udp down", 1),
        ("ping down", 1),
    ] {
        assert_eq!(count(&lab, l), n, "{l}: {:?}", notes(&lab));
    }
}

/// The generic connect options act on the probe's socket: bindto (the source address the
/// server sees), fwmark (SO_MARK: routing by mark sends the probe into a blackhole), bind_if
/// (SO_BINDTODEVICE: bound to lo the server is unreachable), connect_ip / connect_port
/// (the probe goes elsewhere than the real server's address).
#[test]
fn generic_connect_options_shape_the_probe() {
    let mut lab = Lab::new("ckg", 1);
    setup_scripts(&lab);
    nginx(&mut lab);
    // a second address on the director's backend leg, and a routing table for mark 7
    // that drops everything
    run_ok(
        &lab,
        "d1",
        &["ip", "addr", "add", "198.51.100.21/24", "dev", "eth1"],
    );
    run_ok(
        &lab,
        "d1",
        &[
            "ip",
            "route",
            "add",
            "blackhole",
            "198.51.100.0/24",
            "table",
            "100",
        ],
    );
    run_ok(
        &lab,
        "d1",
        &[
            "ip", "rule", "add", "fwmark", "7", "lookup", "100", "priority", "100",
        ],
    );
    let conf = format!(
        r#"
virtual_server 192.0.2.100 80 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 80 {{
    {n_bind}
    HTTP_GET {{
      url {{
        path /index.html
      }}
      bindto 198.51.100.21
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.100 81 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 80 {{
    {n_mark}
    TCP_CHECK {{
      fwmark 7
      connect_timeout 1
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.100 82 {{
  protocol TCP
  delay_loop 1
  real_server {RS} 80 {{
    {n_dev}
    TCP_CHECK {{
      bind_if lo
      connect_timeout 1
      retry 0
    }}
  }}
}}
virtual_server 192.0.2.100 83 {{
  protocol TCP
  delay_loop 1
  real_server 198.51.100.77 80 {{
    {n_connect}
    HTTP_GET {{
      url {{
        path /health
      }}
      connect_ip {RS}
      connect_port 80
      retry 0
    }}
  }}
}}
"#,
        n_bind = notify(&lab, "bind"),
        n_mark = notify(&lab, "mark"),
        n_dev = notify(&lab, "dev"),
        n_connect = notify(&lab, "connect"),
    );
    let _d = lab.ldirector("d1", "ld", &conf);
    assert!(wait_note(&lab, "mark down", 1), "{}", lab.logs());
    assert!(wait_note(&lab, "dev down", 1), "{}", lab.logs());
    // the server saw the bound source address; connect_ip reached it for 198.51.100.77
    let from = || {
        std::fs::read_to_string(lab.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.ends_with(" 198.51.100.21"))
            .count()
    };
    assert!(wait_until(LONG, || from() >= 2), "{:?}", access(&lab));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&lab, "bind down"), 0, "{:?}", notes(&lab));
    assert_eq!(count(&lab, "connect down"), 0, "{:?}", notes(&lab));
    assert!(
        access(&lab).iter().any(|l| l.starts_with("80 /health 200")),
        "{:?}",
        access(&lab)
    );
}

/// `ldirector status` and `ldirector reload` through the control socket: health as the
/// checks see it, a refused reload (errors shown, exit 1, the running config unchanged) and
/// an accepted one.
#[test]
fn reload_and_status_through_the_control_socket() {
    let mut lab = Lab::new("ckc", 1);
    setup_scripts(&lab);
    nginx(&mut lab);
    let conf = |extra: &str| {
        format!(
            "virtual_server 192.0.2.100 80 {{\n  protocol TCP\n  delay_loop 1\n  real_server {RS} 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n  real_server 198.51.100.99 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n{extra}"
        )
    };
    let d = lab.ldirector("d1", "ld", &conf(""));
    let pid = nix::unistd::Pid::from_raw(lab.proc(d).pid());
    let run_dir = lab.path().join("ld.run").display().to_string();
    let bin = lab::ldirector_bin();
    let ctl = |args: &[&str]| {
        let mut a = vec![bin.as_str()];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--run-dir", &run_dir]);
        lab.exec("d1", &a)
    };
    // the unreachable real server fails its check; the status says so
    let status = || -> serde_json::Value {
        let o = ctl(&["status", "--json"]);
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    let healthy = |v: &serde_json::Value, i: usize| {
        v["virtual_servers"][0]["real_servers"][i]["healthy"].as_bool()
    };
    assert!(
        wait_until(LONG, || healthy(&status(), 1) == Some(false)),
        "{}\n{}",
        status(),
        lab.logs()
    );
    let v = status();
    assert_eq!(healthy(&v, 0), Some(true), "{v}");
    assert_eq!(v["virtual_servers"][0]["name"], "192.0.2.100:80/TCP", "{v}");
    let table = String::from_utf8_lossy(&ctl(&["status"]).stdout).to_string();
    assert!(table.contains("198.51.100.99:80"), "{table}");
    assert!(table.contains("DOWN"), "{table}");
    // a broken config: refused with its errors, exit 1; the daemon goes on
    lab.file(
        "ld.conf",
        &conf("virtual_server 192.0.2.101 80 {\n  lb_algo nonsense\n}\n"),
    );
    let o = ctl(&["reload"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("ld.conf:17:11: error: lb_algo"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert_eq!(
        status()["virtual_servers"].as_array().map(Vec::len),
        Some(1)
    );
    // a good one: in effect, the failed server still failed (its checker carried on)
    lab.file(
        "ld.conf",
        &conf("virtual_server 192.0.2.101 80 {\n  protocol TCP\n  real_server 198.51.100.50 80 {\n  }\n}\n"),
    );
    let o = ctl(&["reload"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = status();
    assert_eq!(
        v["virtual_servers"].as_array().map(Vec::len),
        Some(2),
        "{v}"
    );
    assert_eq!(healthy(&v, 1), Some(false), "{v}");
    // SIGUSR1: the same state written to <run-dir>/ldirector.data
    nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGUSR1).unwrap();
    let data = lab.path().join("ld.run").join("ldirector.data");
    assert!(
        wait_until(LONG, || std::fs::read_to_string(&data).is_ok_and(|t| t
            .contains("192.0.2.101:80/TCP")
            && t.contains("\"healthy\": false"))),
        "{}",
        lab.logs()
    );
    // an empty file (caught while being rewritten): refused, by SIGHUP and by request,
    // unless asked for; the services stay
    lab.file("ld.conf", "");
    nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    let refused = || {
        lab.logs()
            .matches("no vrrp_instance, virtual_server or anycast")
            .count()
    };
    assert!(wait_until(LONG, || refused() >= 1), "{}", lab.logs());
    let o = ctl(&["reload"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--allow-empty"),
        "{o:?}"
    );
    assert_eq!(
        status()["virtual_servers"].as_array().map(Vec::len),
        Some(2)
    );
    let o = ctl(&["reload", "--allow-empty"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        status()["virtual_servers"].as_array().map(Vec::len),
        Some(0)
    );
    // a request that is not UTF-8 gets an error reply, not a closed connection
    {
        use std::io::{Read, Write};
        let sock = lab.path().join("ld.run").join("ldirector.sock");
        let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        c.write_all(b"rel\xffoad\n").unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(answer.contains("not UTF-8"), "{answer}");
    }
    // not running there: a clear error
    let o = lab.exec(
        "d1",
        &[bin.as_str(), "status", "--run-dir", "/nonexistent-run-dir"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot reach ldirector"),
        "{o:?}"
    );
}

/// systemd's Type=notify: READY=1 when running, RELOADING=1 then READY=1 around a reload,
/// STOPPING=1 at stop.
#[test]
fn systemd_readiness_notifications() {
    use std::os::unix::net::UnixDatagram;
    let mut lab = Lab::new("cky", 1);
    let sock = lab.path().join("notify.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    rx.set_read_timeout(Some(LONG)).unwrap();
    let conf = lab.file(
        "ld.conf",
        &format!("virtual_server 192.0.2.100 80 {{\n  protocol TCP\n  real_server {RS} 80 {{\n  }}\n}}\n"),
    );
    let bin = lab::ldirector_bin();
    let rd = lab.path().join("ld.run").display().to_string();
    let env = format!("NOTIFY_SOCKET={}", sock.display());
    let i = lab.spawn(
        "d1",
        "ld",
        &[
            "env",
            &env,
            bin.as_str(),
            "run",
            "-f",
            &conf.display().to_string(),
            "--run-dir",
            &rd,
        ],
    );
    let next = || {
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    assert!(next().starts_with("READY=1\n"));
    lab.proc(i).signal(nix::sys::signal::Signal::SIGHUP);
    assert!(next().starts_with("RELOADING=1\nMONOTONIC_USEC="));
    assert_eq!(next(), "READY=1\nSTATUS=running (reloaded)");
    lab.proc(i).signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(next(), "STOPPING=1");
    assert_eq!(lab.proc(i).wait_exit(LONG), Some(0));
}

/// `--vrrp` and `--check` run one half each (keepalived's -P and -C); keepalived's -n -l -D
/// are accepted.
#[test]
fn vrrp_and_check_halves() {
    let mut lab = Lab::new("ckv", 1);
    let conf = lab.file(
        "both.conf",
        &format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 61\n  priority 100\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.200/24\n  }}\n}}\nvirtual_server 192.0.2.200 80 {{\n  protocol TCP\n  real_server {RS} 80 {{\n  }}\n}}\n"
        ),
    );
    let conf = conf.display().to_string();
    let bin = lab::ldirector_bin();
    let dir = lab.path().to_path_buf();
    let run = |lab: &mut Lab, name: &str, flags: &[&str]| {
        let rd = dir.join(name).display().to_string();
        let mut a = vec![bin.as_str(), "run", "-f", &conf, "--run-dir", &rd];
        a.extend_from_slice(flags);
        lab.spawn("d1", name, &a);
        rd
    };
    let check_rd = run(&mut lab, "c", &["--check", "-n", "-l", "-D"]);
    let vrrp_rd = run(&mut lab, "v", &["--vrrp"]);
    let status = |rd: &str| -> serde_json::Value {
        let o = lab.exec("d1", &[bin.as_str(), "status", "--json", "--run-dir", rd]);
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    let len = |v: &serde_json::Value, k: &str| v[k].as_array().map(Vec::len);
    assert!(
        wait_until(LONG, || len(&status(&check_rd), "virtual_servers")
            == Some(1)),
        "{}",
        lab.logs()
    );
    assert_eq!(len(&status(&check_rd), "vrrp"), Some(0));
    assert!(
        wait_until(LONG, || status(&vrrp_rd)["vrrp"][0]["state"] == "MASTER"),
        "{}",
        lab.logs()
    );
    assert_eq!(len(&status(&vrrp_rd), "virtual_servers"), Some(0));
    assert!(lab.has_addr("d1", "eth0", "192.0.2.200"), "{}", lab.logs());
    assert!(lab.logs().contains("accepted for keepalived compatibility"));
}

/// Without privileges VRRP cannot open its sockets: one clear line, and the health checks
/// (and the control socket) go on.
#[test]
fn without_privileges_vrrp_says_so_and_the_checks_go_on() {
    use std::os::unix::fs::PermissionsExt;
    let mut lab = Lab::new("ckp", 1);
    nginx(&mut lab);
    // a folder the unprivileged user can read (the lab's own is root's only)
    let dir = tempfile::Builder::new().prefix("ldnp").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(&run_dir, Some(nobody.uid), None).unwrap();
    let conf = dir.path().join("np.conf");
    std::fs::write(
        &conf,
        format!("vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 61\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.200/24\n  }}\n}}\nvirtual_server 192.0.2.200 80 {{\n  protocol TCP\n  delay_loop 1\n  real_server {RS} 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n  real_server {RS} 8099 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bin = lab::ldirector_bin();
    let (c, r) = (conf.display().to_string(), run_dir.display().to_string());
    let i = lab.spawn(
        "d1",
        "np",
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            bin.as_str(),
            "run",
            "-f",
            &c,
            "--run-dir",
            &r,
        ],
    );
    let status = |lab: &Lab| -> serde_json::Value {
        let o = lab.exec("d1", &[bin.as_str(), "status", "--json", "--run-dir", &r]);
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    // the closed port fails its check: the checks run
    assert!(
        wait_until(LONG, || status(&lab)["virtual_servers"][0]["real_servers"]
            [1]["healthy"]
            == false),
        "{}\n{}",
        status(&lab),
        lab.logs()
    );
    assert_eq!(
        status(&lab)["virtual_servers"][0]["real_servers"][0]["healthy"],
        true
    );
    let log = lab.proc(i).log_text();
    assert!(
        log.contains("run as root); VRRP is not running, the rest goes on"),
        "{log}"
    );
    // IPVS (absent from this kernel, and no privileges): one line too
    let ipvs: Vec<&str> = log.lines().filter(|l| l.contains("IPVS: ")).collect();
    assert_eq!(ipvs.len(), 1, "{log}");
    assert!(
        ipvs[0].contains("virtual servers are not programmed (VRRP and health checks go on)"),
        "{log}"
    );
    assert!(!lab.has_addr("d1", "eth0", "192.0.2.200"));
    // a reload tries VRRP again and says it still cannot start; the rest goes on
    let o = lab.exec("d1", &[bin.as_str(), "reload", "--run-dir", &r]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // the caller hears of it, not only the log
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("VRRP still cannot start"), "{said}");
    assert!(
        wait_until(LONG, || lab
            .proc(i)
            .log_text()
            .contains("reload: VRRP still cannot start")),
        "{}",
        lab.proc(i).log_text()
    );
}

/// Reloads queue: 100 SIGHUPs, each after a new version of the config (written as a
/// config manager does, by rename), end in the last version, applied once or twice (when
/// the storm is over in 100 ms; a request more per 100 ms it lasted); and
/// `ldirector reload` calls made meanwhile all get the answer of a reload that read the
/// config after they asked.
#[test]
fn a_storm_of_reloads_ends_in_the_last_config_applied_once_or_twice() {
    let mut lab = Lab::new("cks", 1);
    let conf = |port: u32| {
        format!("virtual_server 192.0.2.100 {port} {{\n  protocol TCP\n  real_server {RS} 80 {{\n  }}\n}}\n")
    };
    let d = lab.ldirector("d1", "ld", &conf(1000));
    let pid = nix::unistd::Pid::from_raw(lab.proc(d).pid());
    assert!(wait_until(LONG, || lab
        .proc(d)
        .log_text()
        .contains("running")));
    let path = lab.path().join("ld.conf");
    let tmp = lab.path().join("ld.conf.new");
    // requests within 100 ms of each other are one reload: how many reloads a storm may
    // give depends on how long it lasted (a loaded machine stretches it)
    let storm = std::time::Instant::now();
    for i in 1..=100 {
        std::fs::write(&tmp, conf(1000 + i)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    }
    let at_most = |span: Duration| 2 + span.as_millis() / 100;
    let bound = at_most(storm.elapsed());
    let run_dir = lab.path().join("ld.run").display().to_string();
    let bin = lab::ldirector_bin();
    let status = |lab: &Lab| -> serde_json::Value {
        let o = lab.exec("d1", &[&bin, "status", "--json", "--run-dir", &run_dir]);
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    assert!(
        wait_until(LONG, || status(&lab)["virtual_servers"][0]["name"]
            == "192.0.2.100:1100/TCP"),
        "{}\n{}",
        status(&lab),
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let applied = lab
        .proc(d)
        .log_text()
        .matches("checker(s) carry on")
        .count();
    assert!(
        (1..=bound as usize).contains(&applied),
        "{applied} reloads (at most {bound})\n{}",
        lab.logs()
    );
    // ten `ldirector reload` at once: each answered, by at most two reloads
    std::fs::write(&path, conf(2000)).unwrap();
    let storm = std::time::Instant::now();
    let kids: Vec<_> = (0..10)
        .map(|_| {
            std::process::Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &lab.ns("d1"),
                    &bin,
                    "reload",
                    "--run-dir",
                    &run_dir,
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    // the clients' requests came somewhere in this span
    let bound = at_most(storm.elapsed());
    assert_eq!(
        status(&lab)["virtual_servers"][0]["name"],
        "192.0.2.100:2000/TCP"
    );
    let more = lab
        .proc(d)
        .log_text()
        .matches("checker(s) carry on")
        .count()
        - applied;
    assert!(
        (1..=bound as usize).contains(&more),
        "{more} reloads (at most {bound})\n{}",
        lab.logs()
    );
}

/// GET `path` on the director's HTTP endpoint (python3's urllib inside its namespace):
/// (status code, body).
fn http_get(lab: &Lab, method: &str, path: &str) -> (u16, String) {
    let code = format!(
        "import urllib.request, urllib.error\nr = urllib.request.Request('http://127.0.0.1:9650{path}', method='{method}')\ntry:\n    a = urllib.request.urlopen(r, timeout=5)\n    print(a.status)\n    print(a.read().decode())\nexcept urllib.error.HTTPError as e:\n    print(e.code)\n    print(e.read().decode())\n"
    );
    let o = lab.exec("d1", &["/usr/bin/python3", "-c", &code]);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    (first.trim().parse().unwrap_or(0), rest.to_string())
}

/// The HTTP endpoint: Prometheus metrics for VRRP, checks (counts and latency) and real
/// servers; the status JSON; /healthz; read-only (405), unknown paths 404.
#[test]
fn http_endpoint_serves_metrics_status_and_healthz() {
    let mut lab = Lab::new("ckm", 1);
    nginx(&mut lab);
    let conf = format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.1\n  version 3\n  virtual_ipaddress {{ 192.0.2.100/24 }}\n}}\nvirtual_server 192.0.2.100 80 {{\n  protocol TCP\n  delay_loop 1\n  real_server {RS} 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n  real_server 198.51.100.99 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
    );
    let _d = lab.ldirector_with("d1", "ld", &conf, &["--http-listen", "127.0.0.1:9650"]);
    let up = |m: &str, rs: &str, v: u8| {
        m.contains(&format!(
            "ldirector_real_server_up{{virtual_server=\"192.0.2.100:80/TCP\",real_server=\"{rs}:80\"}} {v}"
        ))
    };
    let mut m = String::new();
    assert!(
        wait_until(LONG, || {
            m = http_get(&lab, "GET", "/metrics").1;
            up(&m, "198.51.100.99", 0)
                && up(&m, RS, 1)
                && m.contains("ldirector_vrrp_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1")
        }),
        "{m}\n{}",
        lab.logs()
    );
    let value = |m: &str, prefix: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(
        value(&m, "ldirector_checks_total{kind=\"tcp\",result=\"up\"}") >= 1.0,
        "{m}"
    );
    // the unreachable server's probes end in a timeout (no answer) or an error
    let failed = value(
        &m,
        "ldirector_checks_total{kind=\"tcp\",result=\"timeout\"}",
    ) + value(&m, "ldirector_checks_total{kind=\"tcp\",result=\"down\"}");
    assert!(failed >= 1.0, "{m}");
    assert!(
        value(&m, "ldirector_check_duration_seconds_count{kind=\"tcp\"}") >= 1.0,
        "{m}"
    );
    assert!(
        value(
            &m,
            "ldirector_vrrp_adverts_sent_total{vrrp_instance=\"VI_1\"}"
        ) >= 1.0,
        "{m}"
    );
    // without asking: Prometheus' classic text format; asked for: OpenMetrics
    assert!(
        m.contains("# TYPE ldirector_reloads_total counter") && !m.contains("# EOF"),
        "{m}"
    );
    let om = lab.exec(
        "d1",
        &[
            "python3",
            "-c",
            "import urllib.request\nr = urllib.request.Request('http://127.0.0.1:9650/metrics', headers={'Accept': 'application/openmetrics-text; version=1.0.0'})\nprint(urllib.request.urlopen(r, timeout=5).read().decode())",
        ],
    );
    let om = String::from_utf8_lossy(&om.stdout);
    assert!(
        om.trim_end().ends_with("# EOF") && om.contains("# TYPE ldirector_reloads counter"),
        "{om}"
    );
    let (code, body) = http_get(&lab, "GET", "/status");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["vrrp"][0]["state"], "MASTER", "{body}");
    assert_eq!(v["virtual_servers"][0]["real_servers"][1]["healthy"], false);
    let (code, body) = http_get(&lab, "GET", "/healthz");
    assert_eq!((code, body.trim()), (200, "ok"));
    assert_eq!(http_get(&lab, "POST", "/metrics").0, 405);
    assert_eq!(http_get(&lab, "GET", "/nope").0, 404);
    // a flood of idle connections (more than the 64 served at once), then closed: the
    // endpoint answers again and the daemon is unharmed
    let flood = "import socket\nss = [socket.create_connection(('127.0.0.1', 9650)) for _ in range(200)]\nfor s in ss: s.close()\n";
    let o = lab.exec("d1", &["/usr/bin/python3", "-c", flood]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(wait_until(LONG, || http_get(&lab, "GET", "/healthz").0 == 200));
}

/// Slow clients cannot starve the endpoint: 80 connections from one host that send half a
/// request and are re-opened as they are cut hold at most 8 slots, so a monitoring
/// system's and a liveness probe's requests from elsewhere are all answered.
#[test]
fn slow_clients_do_not_starve_the_http_endpoint() {
    let mut lab = Lab::new("cks", 1);
    let conf = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.1\n  version 3\n  virtual_ipaddress { 192.0.2.100/24 }\n}\n";
    let _d = lab.ldirector_with("d1", "ld", conf, &["--http-listen", "0.0.0.0:9650"]);
    assert!(
        wait_until(LONG, || http_get(&lab, "GET", "/healthz").0 == 200),
        "{}",
        lab.logs()
    );
    let slow = "import socket, select, time
end = time.time() + 12
socks = []
def new():
    try:
        s = socket.create_connection(('192.0.2.11', 9650), timeout=1)
        s.send(b'GET /metrics HTTP/1.1\\r\\n')
        return s
    except OSError:
        return None
while time.time() < end:
    while len(socks) < 80:
        s = new()
        if s is None:
            break
        socks.append(s)
    r, _, _ = select.select(socks, [], [], 0.05)
    for s in r:
        try:
            d = s.recv(100)
        except OSError:
            d = b''
        if not d:
            socks.remove(s)
            s.close()
";
    let attacker = lab.spawn("client", "slow", &["/usr/bin/python3", "-c", slow]);
    std::thread::sleep(Duration::from_secs(2));
    let mut answered = 0;
    for k in 0..12 {
        let path = if k % 2 == 0 { "/healthz" } else { "/metrics" };
        if http_get(&lab, "GET", path).0 == 200 {
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(answered, 12, "{}", lab.logs());
    // the slow client ran all along (a crashed script would prove nothing)
    assert!(
        !lab.proc(attacker).log_text().contains("Traceback"),
        "{}",
        lab.logs()
    );
    assert!(
        lab.logs().contains("connections open"),
        "the attacker was refused: {}",
        lab.logs()
    );
}

/// `--log-format json`: every line the daemon logs is a JSON object with a level and a
/// message, from start to a clean stop.
#[test]
fn json_logs_from_start_to_stop() {
    let mut lab = Lab::new("ckj", 1);
    let conf = format!(
        "virtual_server 192.0.2.100 80 {{\n  protocol TCP\n  real_server {RS} 80 {{\n  }}\n}}\n"
    );
    let d = lab.ldirector_with("d1", "ld", &conf, &["--log-format", "json"]);
    assert!(wait_until(LONG, || lab
        .proc(d)
        .log_text()
        .contains("\"running\"")));
    lab.proc(d).signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0));
    let text = lab.proc(d).log_text();
    let mut messages = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(messages.iter().any(|m| m == "running"), "{messages:?}");
    assert!(messages.iter().any(|m| m == "stopped"), "{messages:?}");
}
