//! SMTP_CHECK as keepalived does it: the banner must be 220, `HELO <helo_name>` must get
//! 250, then `QUIT`. Every `host` of the checker (or the real server itself) must pass.
//! Multi-line replies (`250-...` continued by `250 ...`) are read to their last line.

use super::tcp::{self, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Read one (possibly multi-line) reply; its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<u16, String> {
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        let n = r.read_line(&mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        if line.len() > 4096 {
            return Err("reply line too long".into());
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad reply '{}'", line.trim_end()))?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
    Err("reply of more than 100 lines".into())
}

/// One host: banner, HELO, QUIT, within the target's timeout in all.
pub(crate) async fn probe_host(t: &Target, helo: &str) -> Result<(), String> {
    let conv = async {
        let s = tcp::connect(t).await.map_err(|e| e.to_string())?;
        let (rd, mut wr) = s.into_split();
        let mut rd = BufReader::new(rd);
        let banner = reply(&mut rd).await?;
        if banner != 220 {
            return Err(format!("banner {banner}, expected 220"));
        }
        wr.write_all(format!("HELO {helo}\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let helo_reply = reply(&mut rd).await?;
        if helo_reply != 250 {
            return Err(format!("HELO answered {helo_reply}, expected 250"));
        }
        let _ = wr.write_all(b"QUIT\r\n").await;
        let _ = reply(&mut rd).await;
        Ok(())
    };
    match tokio::time::timeout(t.timeout, conv).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete SMTP exchange within {:?}", t.timeout)),
    }
}

pub(crate) async fn probe(hosts: &[Target], helo: &str) -> Result<(), String> {
    for h in hosts {
        probe_host(h, helo)
            .await
            .map_err(|e| format!("{}: {e}", h.addr))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;

    async fn server(script: &'static [&'static str]) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut it = script.iter();
            if let Some(b) = it.next() {
                s.write_all(b.as_bytes()).await.unwrap();
            }
            let mut buf = [0u8; 512];
            for line in it {
                let n = s.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                s.write_all(line.as_bytes()).await.unwrap();
            }
        });
        a
    }

    fn t(addr: std::net::SocketAddr) -> Target {
        Target {
            addr,
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn conversations() {
        let ok = server(&[
            "220-mail ESMTP\r\n220 ready\r\n",
            "250 hello\r\n",
            "221 bye\r\n",
        ])
        .await;
        assert_eq!(probe(&[t(ok)], "director").await, Ok(()));
        let busy = server(&["421 busy\r\n"]).await;
        assert!(probe(&[t(busy)], "d")
            .await
            .unwrap_err()
            .contains("banner 421"));
        let refuse = server(&["220 ok\r\n", "550 no\r\n"]).await;
        assert!(probe(&[t(refuse)], "d")
            .await
            .unwrap_err()
            .contains("HELO answered 550"));
        let silent = server(&[]).await;
        let mut st = t(silent);
        st.timeout = Duration::from_millis(200);
        assert!(probe(&[st], "d").await.is_err());
    }
}
