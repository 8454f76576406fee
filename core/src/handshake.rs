//! Checks on a `/socket.io/` request before any Durable Object is touched, with the reference
//! server's HTTP 400 bodies, and the room-name rule.

use crate::engineio::Protocol;

/// Longest room name accepted.
pub const MAX_ROOM_LEN: usize = 64;

/// A room name is 1–64 characters of `A–Z a–z 0–9 - _ .`.
pub fn valid_room(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROOM_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A resume token is 16–64 characters of URL-safe base64 (`A–Z a–z 0–9 - _`).
pub fn valid_resume_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Why a `/socket.io/` request is refused, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not a websocket upgrade with `transport=websocket` (polling is not offered).
    TransportUnknown,
    /// A `sid` for a session this server never opened (there are no polling sessions to upgrade).
    UnknownSid,
    /// `EIO` missing or other than 3 or 4.
    UnsupportedProtocolVersion,
    /// `room` missing or not a valid room name, or a malformed `resume` token.
    BadRequest,
    /// The room already has as many sockets waiting for a seat as it keeps (see
    /// `Config::max_pending`). Not a reference-server error: it has no such limit.
    TooManyConnections,
}

impl Error {
    /// The reference server's JSON body for this error (sent with HTTP 400).
    pub fn body(self) -> &'static str {
        match self {
            Error::TransportUnknown => r#"{"code":0,"message":"Transport unknown"}"#,
            Error::UnknownSid => r#"{"code":1,"message":"Session ID unknown"}"#,
            Error::UnsupportedProtocolVersion => {
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            }
            Error::BadRequest => r#"{"code":3,"message":"Bad request"}"#,
            Error::TooManyConnections => r#"{"code":3,"message":"Too many connections"}"#,
        }
    }

    /// The HTTP status sent with [`Error::body`].
    pub fn status(self) -> u16 {
        match self {
            Error::TooManyConnections => 429,
            _ => 400,
        }
    }
}

/// An accepted handshake request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub protocol: Protocol,
    pub room: String,
    /// The client's resume token, if it sent one (see `room::Conn::resume`).
    pub resume: Option<String>,
}

/// Judges a `/socket.io/` request from its query pairs and whether it asks for a websocket
/// upgrade. `default_room` is used when `room` is absent (the conformance profile only).
pub fn check<'a>(
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    is_websocket_upgrade: bool,
    default_room: Option<&str>,
) -> Result<Accepted, Error> {
    let (mut transport, mut eio, mut room, mut sid, mut resume) = (None, None, None, None, None);
    for (k, v) in query {
        match k {
            "transport" => transport = Some(v),
            "EIO" => eio = Some(v),
            "room" => room = Some(v),
            "sid" => sid = Some(v),
            "resume" => resume = Some(v),
            _ => {}
        }
    }
    if transport != Some("websocket") || !is_websocket_upgrade {
        return Err(Error::TransportUnknown);
    }
    if sid.is_some() {
        return Err(Error::UnknownSid);
    }
    let protocol = eio
        .and_then(Protocol::from_query)
        .ok_or(Error::UnsupportedProtocolVersion)?;
    let room = room.or(default_room).ok_or(Error::BadRequest)?;
    if !valid_room(room) || resume.is_some_and(|t| !valid_resume_token(t)) {
        return Err(Error::BadRequest);
    }
    Ok(Accepted {
        protocol,
        room: room.to_string(),
        resume: resume.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(&str, &str)> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect()
    }

    #[test]
    fn room_names() {
        assert!(valid_room("a"));
        assert!(valid_room("Room-1_x.y"));
        assert!(valid_room(&"a".repeat(64)));
        assert!(!valid_room(""));
        assert!(!valid_room(&"a".repeat(65)));
        assert!(!valid_room("a b"));
        assert!(!valid_room("a/b"));
        assert!(!valid_room("é"));
        assert!(!valid_room("a%20"));
    }

    #[test]
    fn accepts_v4_and_v3_websocket_upgrades() {
        assert_eq!(
            check(q("EIO=4&transport=websocket&room=r1"), true, None),
            Ok(Accepted {
                protocol: Protocol::V4,
                room: "r1".into(),
                resume: None
            })
        );
        assert_eq!(
            check(q("EIO=3&transport=websocket&room=r1&t=N1"), true, None).map(|a| a.protocol),
            Ok(Protocol::V3)
        );
    }

    #[test]
    fn judges_defects_in_contract_order() {
        assert_eq!(
            check(q("EIO=4&transport=polling&room=r"), true, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check(q("EIO=4&transport=websocket&room=r"), false, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check(q("EIO=9&room=bad room"), true, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check(q("EIO=9&transport=websocket&room=a b"), true, None),
            Err(Error::UnsupportedProtocolVersion)
        );
        assert_eq!(
            check(q("transport=websocket&room=r"), true, None),
            Err(Error::UnsupportedProtocolVersion)
        );
        assert_eq!(
            check(q("EIO=4&transport=websocket"), true, None),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check(q("EIO=4&transport=websocket&room="), true, None),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check(q("EIO=4&transport=websocket&room=a.b/c"), true, None),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check(q("EIO=4&transport=websocket&room=r&sid=abc"), true, None),
            Err(Error::UnknownSid)
        );
    }

    #[test]
    fn resume_token_is_optional_but_checked() {
        let ok = check(
            q("EIO=4&transport=websocket&room=r&resume=abcdefghijklmnop"),
            true,
            None,
        );
        assert_eq!(
            ok.map(|a| a.resume),
            Ok(Some("abcdefghijklmnop".to_string()))
        );
        for bad in ["short", "has space here 123", "x%2Fyyyyyyyyyyyyyyyy", ""] {
            let query = format!("EIO=4&transport=websocket&room=r&resume={bad}");
            assert_eq!(
                check(q(&query), true, None),
                Err(Error::BadRequest),
                "{bad:?}"
            );
        }
        let long = "a".repeat(65);
        let query = format!("EIO=4&transport=websocket&room=r&resume={long}");
        assert_eq!(check(q(&query), true, None), Err(Error::BadRequest));
    }

    #[test]
    fn default_room_only_when_absent() {
        assert_eq!(
            check(q("EIO=4&transport=websocket"), true, Some("conformance")).map(|a| a.room),
            Ok("conformance".to_string())
        );
        assert_eq!(
            check(
                q("EIO=4&transport=websocket&room=x y"),
                true,
                Some("conformance")
            ),
            Err(Error::BadRequest)
        );
    }

    #[test]
    fn error_bodies_are_the_reference_strings() {
        assert_eq!(
            Error::TransportUnknown.body(),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
        assert_eq!(
            Error::UnsupportedProtocolVersion.body(),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        assert_eq!(
            Error::BadRequest.body(),
            r#"{"code":3,"message":"Bad request"}"#
        );
    }
}
