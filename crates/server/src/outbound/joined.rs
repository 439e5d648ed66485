//! Several frames queued as one: a run of room messages reaches each
//! member as one shared buffer of frames back to back (one queue entry,
//! one reference taken per member, however long the run), which a socket
//! writer copies as it is and a translating reader (the IRC gateway) splits
//! again with [`frames`].

use bytes::{Bytes, BytesMut};
use huddle_protocol::codec::frame_end;

/// `frames` back to back in one buffer (the frame itself if only one).
pub(crate) fn join(frames: &[Bytes]) -> Bytes {
    if let [frame] = frames {
        return frame.clone();
    }
    let mut joined = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
    for frame in frames {
        joined.extend_from_slice(frame);
    }
    joined.freeze()
}

/// Where each frame of a queue entry lies in it, in order. A truncated
/// frame at the end (which the hub never queues) is yielded as it is, for
/// the decoder to refuse.
pub(crate) fn frames(entry: &[u8]) -> FrameRanges<'_> {
    FrameRanges { entry, at: 0 }
}

/// The iterator of [`frames`].
#[derive(Debug)]
pub(crate) struct FrameRanges<'a> {
    entry: &'a [u8],
    at: usize,
}

impl Iterator for FrameRanges<'_> {
    type Item = std::ops::Range<usize>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.entry.get(self.at..).filter(|rest| !rest.is_empty())?;
        // A header cut short: the rest is one (truncated) frame.
        let len = frame_end(rest).unwrap_or(usize::MAX);
        let start = self.at;
        self.at = start.saturating_add(len).min(self.entry.len());
        Some(start..self.at)
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ServerMessage, encode_frame};

    use super::*;

    #[test]
    fn joined_frames_split_back_into_the_same_frames() {
        let frames: Vec<Bytes> = (0..5u64)
            .map(|token| encode_frame(&ServerMessage::Ping { token }).unwrap())
            .collect();
        let joined = join(&frames);
        assert_eq!(joined.len(), frames.iter().map(Bytes::len).sum::<usize>());
        let split: Vec<Bytes> = super::frames(&joined).map(|r| joined.slice(r)).collect();
        assert_eq!(split, frames);
        // One frame is queued as itself.
        let one = join(&frames[..1]);
        assert_eq!(one.as_ptr(), frames[0].as_ptr());
        assert_eq!(super::frames(&one).collect::<Vec<_>>(), vec![0..one.len()]);
        // A truncated tail comes out as it is.
        assert_eq!(
            super::frames(b"\0\0\0\x09abc").collect::<Vec<_>>(),
            vec![0..7]
        );
        assert_eq!(super::frames(b"\0\0").collect::<Vec<_>>(), vec![0..2]);
        assert_eq!(super::frames(b"").count(), 0);
    }
}
