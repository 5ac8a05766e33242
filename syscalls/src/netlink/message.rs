//! Netlink messages as bytes: building requests and walking replies.
//!
//! Everything here is plain byte handling with no syscalls, so it can be
//! tested byte for byte. The layouts come from the uapi headers
//! `linux/netlink.h` and `linux/rtnetlink.h`; all integers are in host byte
//! order (little-endian on every machine rxdp targets, and netlink never
//! crosses machines).
//!
//! ```text
//! struct nlmsghdr {            struct ifinfomsg {         struct nlattr {
//!     __u32 nlmsg_len;             u8  ifi_family;            __u16 nla_len;
//!     __u16 nlmsg_type;            u8  __ifi_pad;             __u16 nla_type;
//!     __u16 nlmsg_flags;           u16 ifi_type;          };  // then the payload,
//!     __u32 nlmsg_seq;             int ifi_index;             // padded to 4 bytes
//!     __u32 nlmsg_pid;             u32 ifi_flags;
//! };  // 16 bytes                  u32 ifi_change;
//!                              };  // 16 bytes
//! ```

use std::fmt;

/// `sizeof(struct nlmsghdr)`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct nlattr)`.
pub(crate) const NLA_HDRLEN: usize = 4;
/// `sizeof(struct ifinfomsg)`.
pub(crate) const IFINFOMSG_LEN: usize = 16;

// nlmsg_type values of the netlink core (`NLMSG_*`) and of rtnetlink (`RTM_*`).
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_SETLINK: u16 = 19;

// nlmsg_flags of requests and data messages.
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
/// Set on a dump message when the dumped set changed while it was dumped.
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_ROOT | NLM_F_MATCH`: every object, not one.
pub(crate) const NLM_F_DUMP: u16 = 0x300;
// nlmsg_flags of NLMSG_ERROR messages (the same bits mean other things there).
/// The original request's payload is left out of the error message.
pub(crate) const NLM_F_CAPPED: u16 = 0x100;
/// Extended-ack attributes (`NLMSGERR_ATTR_*`) follow.
pub(crate) const NLM_F_ACK_TLVS: u16 = 0x200;

/// `NLMSGERR_ATTR_MSG`: the kernel's explanation, a NUL-terminated string.
pub(crate) const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: u32 byte offset of the offending attribute in the request.
pub(crate) const NLMSGERR_ATTR_OFFS: u16 = 2;

/// `NLA_F_NESTED`: the attribute holds attributes.
pub(crate) const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`: the payload is big-endian.
const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// `NLA_TYPE_MASK`: the attribute type without the two flag bits. The kernel
/// sets `NLA_F_NESTED` on some nests and not on others (`IFLA_XDP` in replies
/// has none), so types are always compared masked.
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `NLMSG_ALIGN` / `NLA_ALIGN`: messages and attributes start on 4-byte boundaries.
pub(crate) const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// The uapi name of an rtnetlink request type, used as the `op` of errors.
pub(crate) fn op_name(msg_type: u16) -> &'static str {
    match msg_type {
        RTM_NEWLINK => "RTM_NEWLINK",
        RTM_GETLINK => "RTM_GETLINK",
        RTM_SETLINK => "RTM_SETLINK",
        _ => "rtnetlink",
    }
}

/// A request being built: a header whose length, sequence number and port id
/// are filled in by [`Request::encode`], then a family header, then attributes.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    msg_type: u16,
    flags: u16,
    body: Vec<u8>,
}

impl Request {
    /// A request of `msg_type`. Every request asks for an acknowledgement
    /// (`NLM_F_REQUEST | NLM_F_ACK`), so every exchange ends with an
    /// `NLMSG_ERROR` (error 0 for success) or, for dumps, `NLMSG_DONE`.
    pub(crate) fn new(msg_type: u16, extra_flags: u16) -> Request {
        Request {
            msg_type,
            flags: NLM_F_REQUEST | NLM_F_ACK | extra_flags,
            body: Vec::with_capacity(64),
        }
    }

    /// `nlmsg_type`.
    #[cfg(feature = "fake-kernel")]
    pub(crate) fn msg_type(&self) -> u16 {
        self.msg_type
    }

    /// `nlmsg_flags`.
    #[cfg(feature = "fake-kernel")]
    pub(crate) fn flags(&self) -> u16 {
        self.flags
    }

    /// The family header and attributes.
    #[cfg(feature = "fake-kernel")]
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The uapi name of this request, for errors.
    pub(crate) fn op(&self) -> &'static str {
        op_name(self.msg_type)
    }

    /// Appends `struct ifinfomsg { AF_UNSPEC, 0, 0, ifindex, 0, 0 }`: the
    /// family header of every `RTM_*LINK` request.
    pub(crate) fn ifinfomsg(mut self, ifindex: i32) -> Request {
        self.body.push(libc::AF_UNSPEC as u8); // ifi_family
        self.body.push(0); // __ifi_pad
        self.body.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        self.body.extend_from_slice(&ifindex.to_ne_bytes()); // ifi_index
        self.body.extend_from_slice(&0u32.to_ne_bytes()); // ifi_flags
        self.body.extend_from_slice(&0u32.to_ne_bytes()); // ifi_change
        self
    }

    /// Appends an attribute with `payload`, padded to 4 bytes.
    pub(crate) fn attr(&mut self, attr_type: u16, payload: &[u8]) {
        let len = NLA_HDRLEN + payload.len();
        // Attribute payloads rxdp sends are a few bytes; u16 cannot overflow.
        self.body.extend_from_slice(&(len as u16).to_ne_bytes());
        self.body.extend_from_slice(&attr_type.to_ne_bytes());
        self.body.extend_from_slice(payload);
        self.body.resize(align4(self.body.len()), 0);
    }

    pub(crate) fn attr_u32(&mut self, attr_type: u16, value: u32) {
        self.attr(attr_type, &value.to_ne_bytes());
    }

    pub(crate) fn attr_s32(&mut self, attr_type: u16, value: i32) {
        self.attr(attr_type, &value.to_ne_bytes());
    }

    /// A string attribute, NUL-terminated as the kernel's `NLA_STRING`
    /// policies accept it.
    pub(crate) fn attr_str(&mut self, attr_type: u16, value: &str) {
        let mut payload = Vec::with_capacity(value.len() + 1);
        payload.extend_from_slice(value.as_bytes());
        payload.push(0);
        self.attr(attr_type, &payload);
    }

    /// A nested attribute (`NLA_F_NESTED` set) holding what `fill` appends.
    pub(crate) fn nested(&mut self, attr_type: u16, fill: impl FnOnce(&mut Request)) {
        let start = self.body.len();
        self.attr(attr_type | NLA_F_NESTED, &[]);
        fill(self);
        let len = (self.body.len() - start) as u16;
        self.body[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// The bytes on the wire, with sequence number `seq` and the sender's
    /// netlink port id `port`.
    pub(crate) fn encode(&self, seq: u32, port: u32) -> Vec<u8> {
        let len = NLMSG_HDRLEN + self.body.len();
        let mut bytes = Vec::with_capacity(len);
        bytes.extend_from_slice(&(len as u32).to_ne_bytes()); // nlmsg_len
        bytes.extend_from_slice(&self.msg_type.to_ne_bytes()); // nlmsg_type
        bytes.extend_from_slice(&self.flags.to_ne_bytes()); // nlmsg_flags
        bytes.extend_from_slice(&seq.to_ne_bytes()); // nlmsg_seq
        bytes.extend_from_slice(&port.to_ne_bytes()); // nlmsg_pid
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A reply the kernel should never send: too short, lengths that do not add
/// up. Says what was wrong, for the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed netlink reply: {}", self.0)
    }
}

/// The fields of a `struct nlmsghdr` read from a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) msg_type: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) port: u32,
}

/// The messages of one received datagram, each as its header and payload.
pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub(crate) fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(Header, &'a [u8]), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(len) = read_u32(self.rest, 0) else {
            return Some(Err(self.stop(format!(
                "{} trailing bytes, less than a message header",
                self.rest.len()
            ))));
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > self.rest.len() {
            return Some(Err(self.stop(format!(
                "nlmsg_len {len} with {} bytes left in the datagram",
                self.rest.len()
            ))));
        }
        let header = Header {
            msg_type: read_u16(self.rest, 4).unwrap_or(0),
            flags: read_u16(self.rest, 6).unwrap_or(0),
            seq: read_u32(self.rest, 8).unwrap_or(0),
            port: read_u32(self.rest, 12).unwrap_or(0),
        };
        let payload = &self.rest[NLMSG_HDRLEN..len];
        // The last message of a datagram may lack its padding.
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((header, payload)))
    }
}

impl Messages<'_> {
    /// Ends the iteration after a malformed message: what follows it
    /// cannot be located.
    fn stop(&mut self, what: String) -> Malformed {
        self.rest = &[];
        Malformed(what)
    }
}

/// The attributes in `bytes`, each as its type (flag bits masked off) and payload.
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (Some(len), Some(attr_type)) = (read_u16(self.rest, 0), read_u16(self.rest, 2)) else {
            let left = self.rest.len();
            self.rest = &[];
            return Some(Err(Malformed(format!(
                "{left} trailing bytes, less than an attribute header"
            ))));
        };
        let len = len as usize;
        if len < NLA_HDRLEN || len > self.rest.len() {
            let left = self.rest.len();
            self.rest = &[];
            return Some(Err(Malformed(format!(
                "attribute {} of length {len} with {left} bytes left",
                attr_type & NLA_TYPE_MASK
            ))));
        }
        let payload = &self.rest[NLA_HDRLEN..len];
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((attr_type & NLA_TYPE_MASK, payload)))
    }
}

/// A `u32` attribute payload.
pub(crate) fn attr_u32(attr_name: &str, payload: &[u8]) -> Result<u32, Malformed> {
    match payload.try_into() {
        Ok(bytes) => Ok(u32::from_ne_bytes(bytes)),
        Err(_) => Err(Malformed(format!(
            "{attr_name} has {} bytes, not 4",
            payload.len()
        ))),
    }
}

/// A `u8` attribute payload.
pub(crate) fn attr_u8(attr_name: &str, payload: &[u8]) -> Result<u8, Malformed> {
    match payload {
        [byte] => Ok(*byte),
        _ => Err(Malformed(format!(
            "{attr_name} has {} bytes, not 1",
            payload.len()
        ))),
    }
}

/// A string attribute payload, up to its first NUL.
pub(crate) fn attr_string(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

pub(crate) fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let bytes = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let bytes = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

pub(crate) fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    read_u32(bytes, at).map(|v| v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attribute_length_covers_its_children_and_padding() {
        let mut request = Request::new(RTM_SETLINK, 0).ifinfomsg(1);
        request.nested(43, |nest| {
            nest.attr(1, &[0xaa]); // 5 bytes, padded to 8
            nest.attr_u32(2, 7);
        });
        let bytes = request.encode(1, 0);
        #[rustfmt::skip]
        let attrs: &[u8] = &[
            20, 0, 43, 0x80,          // nla_len 4 + 8 + 8, IFLA_XDP | NLA_F_NESTED
            5, 0, 1, 0, 0xaa, 0, 0, 0, // nla_len 5: one byte, three of padding
            8, 0, 2, 0, 7, 0, 0, 0,
        ];
        assert_eq!(&bytes[32..], attrs);
        assert_eq!(read_u32(&bytes, 0), Some(52));
    }

    #[test]
    fn messages_walk_a_datagram_and_stop_at_garbage() {
        #[rustfmt::skip]
        let datagram: &[u8] = &[
            18, 0, 0, 0, 3, 0, 2, 0, 9, 0, 0, 0, 5, 0, 0, 0, 0xee, 0xff, 0, 0, // 18 + padding
            16, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0,
            99, 0, 0, 0, 1, 0,                                                 // nlmsg_len 99: too long
        ];
        let mut messages = Messages::new(datagram);
        let (header, payload) = messages.next().unwrap().unwrap();
        assert_eq!(
            header,
            Header {
                msg_type: 3,
                flags: 2,
                seq: 9,
                port: 5
            }
        );
        assert_eq!(payload, &[0xee, 0xff]);
        let (header, payload) = messages.next().unwrap().unwrap();
        assert_eq!(header.msg_type, NLMSG_NOOP);
        assert!(payload.is_empty());
        assert!(messages.next().unwrap().is_err());
        assert!(messages.next().is_none());

        for short in [&[1u8][..], &[8, 0, 0, 0, 0, 0], &[0; 16]] {
            let results: Vec<_> = Messages::new(short).collect();
            assert_eq!(results.len(), 1, "{short:?}");
            assert!(results[0].is_err(), "{short:?}");
        }
    }

    #[test]
    fn attrs_mask_flag_bits_and_reject_bad_lengths() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            8, 0, 43, 0x80, 1, 0, 0, 0,  // IFLA_XDP | NLA_F_NESTED
            6, 0, 3, 0, b'a', 0, 0, 0,   // "a\0" + padding
            9, 0, 1, 0, 0, 0,            // nla_len 9 past the end
        ];
        let attrs: Vec<_> = Attrs::new(bytes).collect();
        assert_eq!(attrs[0], Ok((43, &[1u8, 0, 0, 0][..])));
        assert_eq!(attrs[1], Ok((3, &[b'a', 0][..])));
        assert!(attrs[2].is_err());
        assert_eq!(attrs.len(), 3);
        assert!(Attrs::new(&[2, 0, 1, 0]).next().unwrap().is_err());
        assert!(Attrs::new(&[4, 0]).next().unwrap().is_err());
        assert_eq!(attr_string(b"veth0\0\0"), "veth0");
        assert!(attr_u32("IFLA_MTU", &[1, 2]).is_err());
        assert!(attr_u8("IFLA_XDP_ATTACHED", &[]).is_err());
    }
}
