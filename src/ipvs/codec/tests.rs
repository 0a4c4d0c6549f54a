use super::*;

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn svc(sched: &str) -> Service {
    Service {
        sched: sched.into(),
        flags: 0,
        timeout: 0,
        netmask: 0xffff_ffff,
        pe_name: None,
    }
}

/// Decode what we encode, as the kernel would read it back.
fn roundtrip_service(k: ServiceKey, s: Service) {
    let (c, a) = op_request(&Op::AddService(k, s.clone()));
    assert_eq!(c, cmd::NEW_SERVICE);
    let top = attrs(&a).unwrap();
    let (k2, s2, st) = parse_service(&top).unwrap();
    assert_eq!((k2, s2, st), (k, s, Stats::default()));
}

#[test]
fn services_round_trip() {
    roundtrip_service(tcp("192.0.2.1", 80), svc("rr"));
    roundtrip_service(
        tcp("2001:db8::1", 443),
        Service {
            netmask: 64,
            ..svc("wlc")
        },
    );
    roundtrip_service(
        ServiceKey::Fwmark {
            af: AF_INET,
            mark: 7,
        },
        Service {
            flags: flags::PERSISTENT | flags::SCHED1,
            timeout: 360,
            netmask: 0xffff_ff00,
            pe_name: Some("sip".into()),
            ..svc("sh")
        },
    );
    roundtrip_service(
        ServiceKey::Fwmark {
            af: AF_INET6,
            mark: 9,
        },
        Service {
            netmask: 128,
            ..svc("mh")
        },
    );
}

#[test]
fn destinations_round_trip() {
    let k = tcp("192.0.2.1", 80);
    let dk = DestKey {
        addr: "198.51.100.10".parse().unwrap(),
        port: 8080,
    };
    let mut d = Dest::new(Fwd::Tunnel, 3);
    d.u_thresh = 100;
    d.l_thresh = 10;
    d.tun_type = TunType::Gue;
    d.tun_port = 6080;
    d.tun_flags = 1;
    let (c, a) = op_request(&Op::AddDest(k, dk, d));
    assert_eq!(c, cmd::NEW_DEST);
    let top = attrs(&a).unwrap();
    let (k2, ..) = {
        // the service key travels with the destination
        let s = attrs(find(&top, attr::CMD_SERVICE).unwrap()).unwrap();
        (
            addr_of(AF_INET, find(&s, attr::SVC_ADDR).unwrap()).unwrap(),
            (),
        )
    };
    assert_eq!(k2, "192.0.2.1".parse::<IpAddr>().unwrap());
    let (dk2, d2, conns, _) = parse_dest(&top, AF_INET).unwrap();
    assert_eq!((dk2, d2, conns), (dk, d, DestConns::default()));
    // a mixed-family destination carries its own family
    let dk6 = DestKey {
        addr: "2001:db8::10".parse().unwrap(),
        port: 80,
    };
    let (_, a) = op_request(&Op::AddDest(k, dk6, Dest::new(Fwd::Tunnel, 1)));
    let (dk3, ..) = parse_dest(&attrs(&a).unwrap(), AF_INET).unwrap();
    assert_eq!(dk3, dk6);
}

/// The bytes of one request, checked by hand against ip_vs.h: NEW_SERVICE for
/// TCP 192.0.2.1:80 with rr.
#[test]
fn new_service_bytes() {
    let (c, a) = op_request(&Op::AddService(tcp("192.0.2.1", 80), svc("rr")));
    let m = message(0x1c, NLM_F_REQUEST | NLM_F_ACK, 7, c, &a);
    let le16 = |v: u16| v.to_ne_bytes().to_vec();
    let le32 = |v: u32| v.to_ne_bytes().to_vec();
    let mut want = Vec::new();
    let inner_len = 8 + 8 + 8 + 8 + 8 + 12 + 8 + 8; // af proto addr port sched flags timeout netmask
    want.extend(le32((16 + 4 + 4 + inner_len) as u32));
    want.extend(le16(0x1c));
    want.extend(le16(5));
    want.extend(le32(7));
    want.extend(le32(0));
    want.extend([cmd::NEW_SERVICE, 1, 0, 0]);
    want.extend(le16((4 + inner_len) as u16));
    want.extend(le16(1 | 0x8000));
    want.extend(le16(6));
    want.extend(le16(1));
    want.extend(le16(AF_INET));
    want.extend([0, 0]);
    want.extend(le16(6));
    want.extend(le16(2));
    want.extend(le16(IPPROTO_TCP));
    want.extend([0, 0]);
    want.extend(le16(8));
    want.extend(le16(3));
    want.extend([192, 0, 2, 1]);
    want.extend(le16(6));
    want.extend(le16(4));
    want.extend([0, 80, 0, 0]);
    want.extend(le16(7));
    want.extend(le16(6));
    want.extend(*b"rr\0\0");
    want.extend(le16(12));
    want.extend(le16(7));
    want.extend(le32(0));
    want.extend(le32(flags::USER_MASK));
    want.extend(le16(8));
    want.extend(le16(8));
    want.extend(le32(0));
    want.extend(le16(8));
    want.extend(le16(9));
    want.extend([255, 255, 255, 255]);
    assert_eq!(m, want);
}

#[test]
fn garbage_never_panics() {
    let mut x: u32 = 12345;
    for n in 0..5000usize {
        let buf: Vec<u8> = (0..(n % 200))
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        if let Ok(rs) = replies(&buf) {
            for r in rs {
                if let Ok((_, top)) = genl(r.payload) {
                    let _ = parse_service(&top);
                    let _ = parse_dest(&top, AF_INET);
                    let _ = parse_dest(&top, AF_INET6);
                    let _ = parse_daemon(&top);
                    let _ = parse_info(&top);
                }
            }
        }
        let _ = attrs(&buf).map(|top| parse_service(&top).is_ok());
    }
}
