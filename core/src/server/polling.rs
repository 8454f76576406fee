//! A long-polling session's transport state: the packets the server has for the client, the
//! client's pending GET, and an upgrade under way.

use serde::{Deserialize, Serialize};

use crate::engineio::payload::{self, Body, Frame};
use crate::engineio::{Protocol, NOOP};

/// One long-polling session's transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Polling {
    pub protocol: Protocol,
    /// v3: the client asked for text-only payloads (`b64=1`).
    #[serde(default)]
    pub base64: bool,
    /// Packets for the client, in order, until its next GET takes them.
    #[serde(default)]
    pub queue: Vec<Frame>,
    /// An upgrade to websocket under way: when its probe websocket opened.
    #[serde(default)]
    pub probe_since: Option<u64>,
    /// The probe exchange is done (`2probe` answered `3probe`): the client's `5` comes next.
    #[serde(default)]
    pub probed: bool,
    /// When the client's pending GET arrived, if one is pending. Never stored: a request does
    /// not outlive the object that holds it.
    #[serde(skip)]
    pub waiting_since: Option<u64>,
}

impl Polling {
    pub fn new(protocol: Protocol, base64: bool) -> Polling {
        Polling {
            protocol,
            base64,
            queue: Vec::new(),
            probe_since: None,
            probed: false,
            waiting_since: None,
        }
    }

    /// The queued packets as one payload, leaving the queue empty; `None` if there are none.
    pub fn take(&mut self) -> Option<Body> {
        if self.queue.is_empty() {
            return None;
        }
        let frames = std::mem::take(&mut self.queue);
        Some(payload::encode(self.protocol, self.base64, &frames))
    }

    /// The queued packets, or a noop if there are none.
    pub fn take_or_noop(&mut self) -> Body {
        self.take().unwrap_or_else(|| {
            payload::encode(self.protocol, self.base64, &[Frame::Text(NOOP.into())])
        })
    }
}
