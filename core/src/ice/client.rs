//! The rate limiter's key for a client address: the address itself for IPv4, its /64 for IPv6.

/// The rate limiter's key for a client address (`CF-Connecting-IP`): an IPv4 address as it
/// is, an IPv6 address as its /64 (one subscriber's whole prefix, which they can pick addresses
/// from at will; IPv4-mapped ones as the IPv4 address), anything else `unknown`. (Parsed by hand:
/// `std::net::IpAddr`'s parser and printer cost about 2 KB of gzip upload.)
pub fn client_key(addr: Option<&str>) -> String {
    let addr = addr.map(str::trim).unwrap_or("");
    if let Some([a, b, c, d]) = ipv4(addr) {
        return format!("{a}.{b}.{c}.{d}");
    }
    match ipv6(addr) {
        Some([0, 0, 0, 0, 0, 0xffff, hi, lo]) => {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            format!("{a}.{b}.{c}.{d}")
        }
        Some([a, b, c, d, ..]) => format!("{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        None => "unknown".to_string(),
    }
}

/// Dotted-quad IPv4: four decimal parts of 1–3 digits, each at most 255.
fn ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// IPv6 text (RFC 4291 §2.2): eight groups of 1–4 hex digits, one `::` for a run of zero
/// groups, optionally a dotted IPv4 address as the last 32 bits.
fn ipv6(s: &str) -> Option<[u16; 8]> {
    fn groups(part: &str, out: &mut Vec<u16>, last: bool) -> Option<()> {
        if part.is_empty() {
            return Some(());
        }
        let pieces: Vec<&str> = part.split(':').collect();
        for (i, g) in pieces.iter().enumerate() {
            if last && i + 1 == pieces.len() && g.contains('.') {
                let [a, b, c, d] = ipv4(g)?;
                out.push(u16::from_be_bytes([a, b]));
                out.push(u16::from_be_bytes([c, d]));
            } else if (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(u16::from_str_radix(g, 16).ok()?);
            } else {
                return None;
            }
        }
        Some(())
    }
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    match s.split_once("::") {
        Some((h, t)) => {
            if t.contains("::") {
                return None;
            }
            groups(h, &mut head, false)?;
            groups(t, &mut tail, true)?;
            if head.len() + tail.len() > 7 {
                return None;
            }
        }
        None => {
            groups(s, &mut head, true)?;
            if head.len() != 8 {
                return None;
            }
        }
    }
    let mut out = [0u16; 8];
    out[..head.len()].copy_from_slice(&head);
    out[8 - tail.len()..].copy_from_slice(&tail);
    Some(out)
}
