//! Reading the kernel's answer to one request.
//!
//! Datagrams are fed in as they arrive. Messages for another request (another
//! sequence number or port id) are skipped. Data messages (`RTM_NEWLINK`) are
//! kept. The answer ends with `NLMSG_ERROR` (error 0 is the acknowledgement,
//! a negative error is the failure, with the kernel's extended-ack message
//! after it) or, for a dump, `NLMSG_DONE`.
//!
//! ```text
//! NLMSG_ERROR payload:  __s32 error
//!                       struct nlmsghdr msg        (the request's header)
//!                       request payload            (absent with NLM_F_CAPPED)
//!                       NLMSGERR_ATTR_* attributes (present with NLM_F_ACK_TLVS)
//! NLMSG_DONE payload:   __s32 error, then attributes with NLM_F_ACK_TLVS
//! ```

use super::message::{
    align4, attr_string, attr_u32, read_i32, read_u32, Attrs, Malformed, Messages,
    NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP,
    NLMSG_OVERRUN, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP_INTR,
};

/// A data message of the answer: its type and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) msg_type: u16,
    pub(crate) payload: Vec<u8>,
}

/// Why an answer is a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The kernel refused: errno and its extended-ack explanation.
    Kernel {
        errno: i32,
        message: Option<String>,
    },
    /// A dump saw the set change under it (`NLM_F_DUMP_INTR`); run it again.
    Interrupted,
    Malformed(Malformed),
}

impl From<Malformed> for Failure {
    fn from(malformed: Malformed) -> Failure {
        Failure::Malformed(malformed)
    }
}

/// Whether the answer is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    More,
    Done,
}

/// The answer to the request with sequence number `seq` sent from port `port`.
#[derive(Debug)]
pub(crate) struct Reply {
    seq: u32,
    port: u32,
    messages: Vec<Message>,
}

impl Reply {
    pub(crate) fn new(seq: u32, port: u32) -> Reply {
        Reply {
            seq,
            port,
            messages: Vec::new(),
        }
    }

    /// Takes in one datagram. Messages after the one that ends the answer are
    /// not for us and are ignored.
    pub(crate) fn feed(&mut self, datagram: &[u8]) -> Result<Progress, Failure> {
        for message in Messages::new(datagram) {
            let (header, payload) = message?;
            if header.seq != self.seq || header.port != self.port {
                continue;
            }
            match header.msg_type {
                NLMSG_NOOP => {}
                NLMSG_ERROR => {
                    let errno = negative_errno(payload, "NLMSG_ERROR")?;
                    if errno == 0 {
                        return Ok(Progress::Done);
                    }
                    let message = error_extack(payload, header.flags);
                    return Err(Failure::Kernel { errno, message });
                }
                NLMSG_DONE => {
                    // Dumps end with an s32 error; only very old kernels leave it out.
                    let errno = match payload.len() {
                        0 => 0,
                        _ => negative_errno(payload, "NLMSG_DONE")?,
                    };
                    if errno == 0 {
                        return Ok(Progress::Done);
                    }
                    let message = match header.flags & NLM_F_ACK_TLVS {
                        0 => None,
                        _ => extack_message(payload.get(4..).unwrap_or(&[])),
                    };
                    return Err(Failure::Kernel { errno, message });
                }
                NLMSG_OVERRUN => {
                    return Err(Failure::Kernel {
                        errno: libc::ENOBUFS,
                        message: None,
                    })
                }
                msg_type => {
                    if header.flags & NLM_F_DUMP_INTR != 0 {
                        return Err(Failure::Interrupted);
                    }
                    self.messages.push(Message {
                        msg_type,
                        payload: payload.to_vec(),
                    });
                }
            }
        }
        Ok(Progress::More)
    }

    /// The data messages, in the order the kernel sent them.
    pub(crate) fn into_messages(self) -> Vec<Message> {
        self.messages
    }
}

/// The errno of an `NLMSG_ERROR`/`NLMSG_DONE`, which carry it negated.
fn negative_errno(payload: &[u8], what: &str) -> Result<i32, Malformed> {
    let error = read_i32(payload, 0)
        .ok_or_else(|| Malformed(format!("{what} of {} bytes", payload.len())))?;
    match error.checked_neg() {
        Some(errno) if errno >= 0 => Ok(errno),
        _ => Err(Malformed(format!("{what} with error {error}"))),
    }
}

/// The extended-ack explanation of an `NLMSG_ERROR`, if the kernel gave one.
/// A failure is a failure even when its explanation cannot be read, so a
/// damaged explanation is dropped rather than reported.
fn error_extack(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // After the error: the request's header, then (unless capped) its payload.
    let request_len = read_u32(payload, 4)? as usize;
    let echoed = match flags & NLM_F_CAPPED {
        0 => align4(request_len.max(NLMSG_HDRLEN).min(payload.len())),
        _ => NLMSG_HDRLEN,
    };
    extack_message(payload.get(4usize.checked_add(echoed)?..)?)
}

/// The text of `NLMSGERR_ATTR_MSG`, or failing that where `NLMSGERR_ATTR_OFFS`
/// points.
fn extack_message(attrs: &[u8]) -> Option<String> {
    let mut text = None;
    let mut offset = None;
    for attr in Attrs::new(attrs) {
        match attr {
            Ok((NLMSGERR_ATTR_MSG, payload)) => text = Some(attr_string(payload)),
            Ok((NLMSGERR_ATTR_OFFS, payload)) => {
                offset = attr_u32("NLMSGERR_ATTR_OFFS", payload).ok()
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    match (text, offset) {
        (Some(text), _) if !text.is_empty() => Some(text),
        (_, Some(offset)) => Some(format!("invalid attribute at byte {offset} of the request")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u32 = 7;
    const PORT: u32 = 0x1234;

    fn feed_all(datagrams: &[&[u8]]) -> Result<(Progress, Vec<Message>), Failure> {
        let mut reply = Reply::new(SEQ, PORT);
        let mut progress = Progress::More;
        for datagram in datagrams {
            progress = reply.feed(datagram)?;
            if progress == Progress::Done {
                break;
            }
        }
        Ok((progress, reply.into_messages()))
    }

    #[test]
    fn ack() {
        #[rustfmt::skip]
        let ack: &[u8] = &[
            36, 0, 0, 0,      // nlmsg_len: 16 + 4 + 16
            2, 0,             // NLMSG_ERROR
            0, 1,             // NLM_F_CAPPED
            7, 0, 0, 0,       // seq 7
            0x34, 0x12, 0, 0, // port 0x1234
            0, 0, 0, 0,       // error 0: the acknowledgement
            // the request's header
            52, 0, 0, 0, 19, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
        ];
        assert_eq!(feed_all(&[ack]), Ok((Progress::Done, vec![])));
    }

    #[rustfmt::skip]
    const EXTACK_TEXT: &[u8] = &[
        // NLMSGERR_ATTR_MSG: nla_len 4 + 56, text + NUL (55 + 1 bytes)
        60, 0, 1, 0,
        b'N', b'a', b't', b'i', b'v', b'e', b' ', b'a', b'n', b'd', b' ',
        b'g', b'e', b'n', b'e', b'r', b'i', b'c', b' ', b'X', b'D', b'P', b' ',
        b'c', b'a', b'n', b'\'', b't', b' ', b'b', b'e', b' ',
        b'a', b'c', b't', b'i', b'v', b'e', b' ', b'a', b't', b' ',
        b't', b'h', b'e', b' ', b's', b'a', b'm', b'e', b' ', b't', b'i', b'm', b'e', 0,
    ];

    #[test]
    fn error_with_extack_capped() {
        let mut error: Vec<u8> = vec![
            0, 0, 0, 0, // nlmsg_len, set below
            2, 0, // NLMSG_ERROR
            0, 3, // NLM_F_CAPPED | NLM_F_ACK_TLVS
            7, 0, 0, 0, // seq 7
            0x34, 0x12, 0, 0, // port 0x1234
            0xef, 0xff, 0xff, 0xff, // error -17: EEXIST
            // the request's header; capped, its 36-byte payload is not echoed
            52, 0, 0, 0, 19, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
        ];
        error.extend_from_slice(EXTACK_TEXT);
        let len = error.len() as u32;
        error[..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(
            feed_all(&[&error]),
            Err(Failure::Kernel {
                errno: libc::EEXIST,
                message: Some(
                    "Native and generic XDP can't be active at the same time".to_string()
                ),
            })
        );
    }

    #[test]
    fn error_with_extack_uncapped_skips_the_echoed_request() {
        let mut error: Vec<u8> = vec![
            0, 0, 0, 0, // nlmsg_len, set below
            2, 0, // NLMSG_ERROR
            0, 2, // NLM_F_ACK_TLVS, not capped: the whole request is echoed
            7, 0, 0, 0, // seq 7
            0x34, 0x12, 0, 0, // port 0x1234
            0xea, 0xff, 0xff, 0xff, // error -22: EINVAL
            // the request: a 16-byte header and a 20-byte payload
            36, 0, 0, 0, 19, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, //
            0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
            8, 0, 1, 0, // an attribute header looking like NLMSGERR_ATTR_MSG...
        ];
        // ...inside the echoed request must not be taken for the explanation.
        error.extend_from_slice(&[8, 0, 2, 0, 32, 0, 0, 0]); // NLMSGERR_ATTR_OFFS 32
        let len = error.len() as u32;
        error[..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(
            feed_all(&[&error]),
            Err(Failure::Kernel {
                errno: libc::EINVAL,
                message: Some("invalid attribute at byte 32 of the request".to_string()),
            })
        );
        // The same with the explanation text as well: the text wins.
        error.extend_from_slice(EXTACK_TEXT);
        let len = error.len() as u32;
        error[..4].copy_from_slice(&len.to_ne_bytes());
        let Err(Failure::Kernel { message, .. }) = feed_all(&[&error]) else {
            panic!("not a kernel failure");
        };
        assert_eq!(
            message.as_deref(),
            Some("Native and generic XDP can't be active at the same time")
        );
    }

    #[test]
    fn error_without_tlvs_has_no_message() {
        #[rustfmt::skip]
        let error: &[u8] = &[
            36, 0, 0, 0, 2, 0, 0, 1, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
            0xed, 0xff, 0xff, 0xff, // error -19: ENODEV
            52, 0, 0, 0, 18, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
        ];
        assert_eq!(
            feed_all(&[error]),
            Err(Failure::Kernel {
                errno: libc::ENODEV,
                message: None
            })
        );
    }

    /// An `RTM_NEWLINK` dump message for `ifindex` with just `IFLA_IFNAME`.
    fn newlink(ifindex: u8, name: &[u8; 4]) -> Vec<u8> {
        #[rustfmt::skip]
        let message = vec![
            40, 0, 0, 0,            // nlmsg_len 16 + 16 + 8
            16, 0,                  // RTM_NEWLINK
            2, 0,                   // NLM_F_MULTI
            7, 0, 0, 0, 0x34, 0x12, 0, 0,
            0, 0, 1, 0,             // AF_UNSPEC, pad, ARPHRD_ETHER
            ifindex, 0, 0, 0,       // ifi_index
            0, 0, 0, 0, 0, 0, 0, 0, // ifi_flags, ifi_change
            8, 0, 3, 0,             // IFLA_IFNAME
            name[0], name[1], name[2], name[3],
        ];
        message
    }

    #[test]
    fn multi_part_dump_of_two_links_ends_with_done() {
        let first = newlink(1, b"lo\0\0");
        let mut second = newlink(2, b"ab0\0");
        #[rustfmt::skip]
        second.extend_from_slice(&[
            20, 0, 0, 0, 3, 0, 2, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, // NLMSG_DONE, NLM_F_MULTI
            0, 0, 0, 0,                                            // error 0
        ]);
        let (progress, messages) = feed_all(&[&first, &second]).unwrap();
        assert_eq!(progress, Progress::Done);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].msg_type, 16);
        assert_eq!(messages[0].payload, first[16..]);
        assert_eq!(messages[1].payload, second[16..40]);
        // Without NLMSG_DONE the answer is not complete.
        assert_eq!(feed_all(&[&first]).unwrap().0, Progress::More);
    }

    #[test]
    fn dump_failure_in_done_and_interrupted_dump() {
        #[rustfmt::skip]
        let done: &[u8] = &[
            28, 0, 0, 0, 3, 0, 0, 2, 7, 0, 0, 0, 0x34, 0x12, 0, 0, // NLMSG_DONE, NLM_F_ACK_TLVS
            0xa1, 0xff, 0xff, 0xff,                                // error -95: EOPNOTSUPP
            8, 0, 1, 0, b'n', b'o', b'!', 0,                       // NLMSGERR_ATTR_MSG "no!"
        ];
        assert_eq!(
            feed_all(&[done]),
            Err(Failure::Kernel {
                errno: libc::EOPNOTSUPP,
                message: Some("no!".to_string())
            })
        );
        let mut interrupted = newlink(1, b"lo\0\0");
        interrupted[6] |= 0x10; // NLM_F_DUMP_INTR
        assert_eq!(feed_all(&[&interrupted]), Err(Failure::Interrupted));
    }

    #[test]
    fn messages_of_other_requests_are_skipped() {
        #[rustfmt::skip]
        let datagram: &[u8] = &[
            // an error for sequence number 6: an earlier request, not ours
            20, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 0x34, 0x12, 0, 0, 0xff, 0xff, 0xff, 0xff,
            // an error for port 0x9999: another socket's
            20, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x99, 0x99, 0, 0, 0xff, 0xff, 0xff, 0xff,
            // NLMSG_NOOP for us
            16, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
        ];
        assert_eq!(feed_all(&[datagram]), Ok((Progress::More, vec![])));
        let ack: &[u8] = &[
            20, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(feed_all(&[datagram, ack]), Ok((Progress::Done, vec![])));
    }

    #[test]
    fn truncated_and_garbage_replies_are_errors() {
        let cases: &[&[u8]] = &[
            // NLMSG_ERROR without room for the error
            &[18, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0],
            // NLMSG_ERROR with a positive error
            &[
                20, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, 5, 0, 0, 0,
            ],
            // NLMSG_ERROR with error i32::MIN, which has no errno
            &[
                20, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0x80,
            ],
            // nlmsg_len past the end of the datagram
            &[200, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0],
            // nlmsg_len 0
            &[0, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0],
            // a few bytes
            &[1, 2, 3],
        ];
        for case in cases {
            assert!(
                matches!(feed_all(&[case]), Err(Failure::Malformed(_))),
                "{case:?}"
            );
        }
        // A failure whose explanation is damaged is still the failure.
        #[rustfmt::skip]
        let damaged: &[u8] = &[
            44, 0, 0, 0, 2, 0, 0, 3, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
            0xf0, 0xff, 0xff, 0xff,                                 // error -16: EBUSY
            52, 0, 0, 0, 19, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0, // capped request header
            99, 0, 1, 0, b'x', 0, 0, 0,                             // nla_len 99: past the end
        ];
        assert_eq!(
            feed_all(&[damaged]),
            Err(Failure::Kernel {
                errno: libc::EBUSY,
                message: None
            })
        );
        // Uncapped, with nlmsg_len of the echoed request past the end.
        #[rustfmt::skip]
        let short: &[u8] = &[
            36, 0, 0, 0, 2, 0, 0, 2, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
            0xf0, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 19, 0, 5, 0, 7, 0, 0, 0, 0x34, 0x12, 0, 0,
        ];
        assert_eq!(
            feed_all(&[short]),
            Err(Failure::Kernel {
                errno: libc::EBUSY,
                message: None
            })
        );
    }
}
