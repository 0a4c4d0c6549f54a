//! Two cores for the passes over every real server of a large configuration (resolving
//! and validating 37,000 real servers is memory-bound: two threads halve it).

use super::model::VirtualServer;

/// Below this many real servers a second thread costs more than it saves.
const WORTH_A_THREAD: usize = 1000;

/// Where to split the virtual servers so that each part has about half the real servers,
/// and whether the parts are worth a thread each.
pub(crate) fn half_of_the_servers(all: &[VirtualServer]) -> (usize, bool) {
    let total: usize = all.iter().map(|vs| vs.real_server.len()).sum();
    let mut seen = 0;
    let at = all
        .iter()
        .position(|vs| {
            seen += vs.real_server.len();
            seen * 2 >= total
        })
        .map_or(all.len(), |i| i + 1);
    (at, total >= WORTH_A_THREAD)
}

/// `f` over two parts: with `threads`, `b` on a second thread and `a` on this one at once;
/// otherwise (or when no thread can be started) both here.
pub(crate) fn in_halves<I: Send, R: Send>(
    threads: bool,
    a: I,
    b: I,
    f: impl Fn(I) -> R + Sync,
) -> (R, R) {
    if !threads {
        return (f(a), f(b));
    }
    let f = &f;
    let mut second = Some(b);
    let mut second_out = None;
    let first_out = std::thread::scope(|s| {
        let (input, output) = (&mut second, &mut second_out);
        let spawned = std::thread::Builder::new()
            .name("config-half".into())
            .spawn_scoped(s, move || *output = input.take().map(f));
        let first_out = f(a);
        if let Ok(t) = spawned {
            if let Err(panic) = t.join() {
                std::panic::resume_unwind(panic);
            }
        }
        first_out
    });
    // without a second thread, its part here
    match second_out.or_else(|| second.map(f)) {
        Some(r) => (first_out, r),
        None => unreachable!("the second part is either done or still here"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::RealServer;

    #[test]
    fn halves_split_the_servers_and_keep_their_order() {
        let vs = |n: usize| VirtualServer {
            real_server: vec![RealServer::default(); n],
            ..Default::default()
        };
        let all = vec![vs(10), vs(1), vs(1), vs(1), vs(7)];
        // 10 of 20 real servers in the first one
        assert_eq!(half_of_the_servers(&all), (1, false));
        assert_eq!(half_of_the_servers(&[]), (0, false));
        assert_eq!(half_of_the_servers(&[vs(600), vs(600)]), (1, true));
        let (a, b) = all.split_at(half_of_the_servers(&all).0);
        for threads in [false, true] {
            let (ra, rb) = in_halves(threads, a, b, |part| {
                part.iter().map(|v| v.real_server.len()).collect::<Vec<_>>()
            });
            assert_eq!((ra, rb), (vec![10], vec![1, 1, 1, 7]));
            let mut nums = vec![1, 2, 3, 4];
            let (x, y) = nums.split_at_mut(2);
            in_halves(threads, x, y, |part| part.iter_mut().for_each(|n| *n *= 10));
            assert_eq!(nums, vec![10, 20, 30, 40]);
        }
    }

    /// A configuration large enough for two threads: messages from both halves, each at
    /// its place, and the effective values resolved in both.
    #[test]
    fn both_halves_resolve_and_report() {
        use crate::config::{load_str, Format};
        use std::fmt::Write;
        let mut text = String::from("global_defs {\n    router_id t\n}\n");
        for v in 0..40 {
            writeln!(
                text,
                "virtual_server 192.0.2.{v} 80 {{\n    protocol TCP\n    delay_loop 7"
            )
            .unwrap();
            for r in 0..30 {
                // the same real server twice: in the first and in the last virtual server
                let r = if (v == 0 || v == 39) && r == 29 {
                    28
                } else {
                    r
                };
                writeln!(text, "    real_server 198.51.100.{r} 80 {{\n        TCP_CHECK {{\n        }}\n    }}").unwrap();
            }
            text.push_str("}\n");
        }
        let l = load_str("big.conf", &text, Format::Keepalived, None);
        let errors: Vec<String> = l.diags.errors().map(|d| d.to_string()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let line_of = |v: usize| 4 + v * (3 + 30 * 4 + 1) + 3 + 29 * 4;
        assert!(
            errors[0].starts_with(&format!("big.conf:{}:", line_of(0))),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with(&format!("big.conf:{}:", line_of(39))),
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| e.contains("appears twice")));
        let all = &l.config.virtual_server;
        for vs in [&all[0], &all[39]] {
            let ch = &vs.real_server[5].checkers[0];
            assert_eq!(ch.effective.delay_loop.as_micros(), 7_000_000);
        }
    }
}
