//! The alert stream message, hand-written instead of generated (mapped in
//! with prost's `extern_path`) so the server can send an alert that was
//! protobuf-encoded once for all subscribers: fan-out to N subscribers
//! costs one conversion + encoding per alert instead of N. On the wire it
//! is exactly `kestrel.v1.AlertStreamMessage`; clients decode it into
//! [`alert_stream_message::Message`] like a generated type.

use std::sync::{Mutex, PoisonError};

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{self, DecodeContext, WireType};

use crate::alert::record::Alert;
use crate::api::convert;
use crate::api::proto::v1 as pb;

/// `kestrel.v1.AlertStreamMessage`.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct AlertStreamMessage {
    pub message: Option<alert_stream_message::Message>,
    /// Server side: the complete encoding of this message, shared between
    /// subscribers (takes precedence over `message` when encoding).
    pub(crate) encoded: Option<Bytes>,
}

/// The `message` oneof.
pub mod alert_stream_message {
    use super::pb;

    // Same shape as prost's generated oneof enums (unboxed).
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, Debug)]
    pub enum Message {
        Alert(pb::Alert),
        Gap(pb::Gap),
        Heartbeat(pb::Heartbeat),
        CaughtUp(pb::CaughtUp),
    }
}

use alert_stream_message::Message;

impl AlertStreamMessage {
    pub fn new(message: Message) -> Self {
        Self {
            message: Some(message),
            encoded: None,
        }
    }
}

impl prost::Message for AlertStreamMessage {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if let Some(b) = &self.encoded {
            buf.put_slice(b);
            return;
        }
        match &self.message {
            Some(Message::Alert(m)) => encoding::message::encode(1, m, buf),
            Some(Message::Gap(m)) => encoding::message::encode(2, m, buf),
            Some(Message::Heartbeat(m)) => encoding::message::encode(3, m, buf),
            Some(Message::CaughtUp(m)) => encoding::message::encode(4, m, buf),
            None => {}
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        self.encoded = None;
        match tag {
            1 => {
                let mut m = match self.message.take() {
                    Some(Message::Alert(m)) => m,
                    _ => pb::Alert::default(),
                };
                encoding::message::merge(wire_type, &mut m, buf, ctx)?;
                self.message = Some(Message::Alert(m));
            }
            2 => {
                let mut m = match self.message.take() {
                    Some(Message::Gap(m)) => m,
                    _ => pb::Gap::default(),
                };
                encoding::message::merge(wire_type, &mut m, buf, ctx)?;
                self.message = Some(Message::Gap(m));
            }
            3 => {
                let mut m = match self.message.take() {
                    Some(Message::Heartbeat(m)) => m,
                    _ => pb::Heartbeat::default(),
                };
                encoding::message::merge(wire_type, &mut m, buf, ctx)?;
                self.message = Some(Message::Heartbeat(m));
            }
            4 => {
                let mut m = match self.message.take() {
                    Some(Message::CaughtUp(m)) => m,
                    _ => pb::CaughtUp::default(),
                };
                encoding::message::merge(wire_type, &mut m, buf, ctx)?;
                self.message = Some(Message::CaughtUp(m));
            }
            _ => encoding::skip_field(wire_type, tag, buf, ctx)?,
        }
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        if let Some(b) = &self.encoded {
            return b.len();
        }
        match &self.message {
            Some(Message::Alert(m)) => encoding::message::encoded_len(1, m),
            Some(Message::Gap(m)) => encoding::message::encoded_len(2, m),
            Some(Message::Heartbeat(m)) => encoding::message::encoded_len(3, m),
            Some(Message::CaughtUp(m)) => encoding::message::encoded_len(4, m),
            None => 0,
        }
    }

    fn clear(&mut self) {
        self.message = None;
        self.encoded = None;
    }
}

const SLOTS: usize = 4096;

/// Encodings of recent alerts by seq, shared by all stream subscribers: the
/// first subscriber to send an alert encodes it, the others reuse the
/// bytes. A fixed ring of slots (seq modulo size), each behind its own lock
/// held for one encoding at most.
pub struct WireCache {
    slots: Vec<Mutex<Option<(u64, Bytes)>>>,
}

impl Default for WireCache {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

impl WireCache {
    /// The stream message for `alert`, encoded at most once per seq while
    /// the seq stays in the ring.
    pub fn alert_message(&self, alert: &Alert) -> AlertStreamMessage {
        use prost::Message as _;
        let seq = alert.seq;
        let Some(slot) = self.slots.get((seq % SLOTS as u64) as usize) else {
            return AlertStreamMessage::new(Message::Alert(convert::alert_to_proto(alert)));
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = match &*slot {
            Some((s, b)) if *s == seq => b.clone(),
            _ => {
                let msg = AlertStreamMessage::new(Message::Alert(convert::alert_to_proto(alert)));
                let b = Bytes::from(msg.encode_to_vec());
                *slot = Some((seq, b.clone()));
                b
            }
        };
        AlertStreamMessage {
            message: None,
            encoded: Some(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn pre_encoded_alert_decodes_like_the_plain_message() {
        let mut a = crate::alert::record::sample_alert();
        a.seq = 9;
        let cache = WireCache::default();
        let fast = cache.alert_message(&a).encode_to_vec();
        let again = cache.alert_message(&a).encode_to_vec();
        let plain =
            AlertStreamMessage::new(Message::Alert(convert::alert_to_proto(&a))).encode_to_vec();
        assert_eq!(fast, plain);
        assert_eq!(again, plain);
        let back = AlertStreamMessage::decode(fast.as_slice()).unwrap();
        match back.message {
            Some(Message::Alert(p)) => assert_eq!(convert::alert_from_proto(p).unwrap(), a),
            other => panic!("{other:?}"),
        }
        for m in [
            Message::Gap(pb::Gap {
                from_seq: 1,
                to_seq: 2,
                reason: 1,
                dropped: 2,
            }),
            Message::CaughtUp(pb::CaughtUp { last_seq: 4 }),
            Message::Heartbeat(pb::Heartbeat {
                time: None,
                last_seq: 3,
            }),
        ] {
            let bytes = AlertStreamMessage::new(m.clone()).encode_to_vec();
            assert_eq!(
                AlertStreamMessage::decode(bytes.as_slice())
                    .unwrap()
                    .message,
                Some(m)
            );
        }
        // Garbage never panics.
        let _ = AlertStreamMessage::decode(&[0x0a, 0xff, 0xff, 0x01][..]);
    }
}
