//! Identifiers: Engine.IO and Socket.IO session ids and unguessable room ids, as URL-safe base64
//! of random bytes the caller supplies (the Worker reads them from `getrandom`).

/// Random bytes in an Engine.IO or Socket.IO id: 120 bits, 20 characters like the reference's.
pub const SID_BYTES: usize = 15;
/// Random bytes in a generated room id: 128 bits (the contract asks for at least 96), 22 characters.
pub const ROOM_ID_BYTES: usize = 16;

/// A room's tag in log lines: 12 hex digits of SHA-1 over the name, so that one room's lines can
/// be told apart without the name (a room's link is its secret) being in the logs.
pub fn room_tag(room: &str) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(format!("signal-room:{room}").as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// URL-safe base64 without padding.
pub fn base64url(bytes: &[u8]) -> String {
    crate::base64::encode_url(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc4648_vectors_url_safe() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff, 0xfe]), "-__-");
    }

    #[test]
    fn room_tags_are_short_stable_and_not_the_name() {
        let tag = room_tag("team-standup");
        assert_eq!(tag.len(), 12);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag, room_tag("team-standup"));
        assert_ne!(tag, room_tag("team-standuq"));
        assert!(!tag.contains("team"));
    }

    #[test]
    fn id_lengths_and_alphabet() {
        let sid = base64url(&[0xa5; SID_BYTES]);
        assert_eq!(sid.len(), 20);
        let room = base64url(&[0x5a; ROOM_ID_BYTES]);
        assert_eq!(room.len(), 22);
        assert!(crate::handshake::valid_room(&room));
    }
}
