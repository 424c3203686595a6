//! A request body read whole, up to [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES): what a create
//! reads before it parses.
//!
//! axum's `Bytes` extractor does the same through `http-body-util`'s `Collect`, which queues the
//! frames (a box and a queue for a body of one frame, which it then hands back uncopied), and is
//! bounded to [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES) rather than axum's 2 MiB only under
//! `DefaultBodyLimit`'s layer (an extension on every request). Here a body that comes in one
//! frame (a create's few hundred bytes do) is kept as that frame, with nothing allocated. With
//! the API's routes rid of that layer, a create went from 31,430 to 29,490 instructions
//! (`hot_paths http-create` under callgrind).

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody as _};

/// The body's bytes; `None` when it is longer than `limit` or could not be read.
pub(crate) async fn read(mut body: Body, limit: usize) -> Option<Bytes> {
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        // Trailers, the only other kind of frame, are not part of the body.
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        len += data.len();
        if len > limit {
            return None;
        }
        if first.is_none() && joined.is_empty() {
            first = Some(data);
        } else {
            if let Some(first) = first.take() {
                joined.reserve(len);
                joined.extend_from_slice(&first);
            }
            joined.extend_from_slice(&data);
        }
    }
    Some(first.unwrap_or_else(|| Bytes::from(joined)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::task::{Context, Poll};

    use hyper::body::Frame;

    use super::*;

    /// A body that comes in the given frames.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl axum::body::HttpBody for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(Ok))
        }
    }

    /// A body whose reading fails once (a client gone mid-body), then ends: a reader that went on
    /// past the error would return what came after it rather than hang.
    struct Failing(bool);

    impl axum::body::HttpBody for Failing {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let failed = std::mem::replace(&mut self.get_mut().0, true);
            Poll::Ready((!failed).then(|| Err(std::io::Error::other("the client went away"))))
        }
    }

    fn body(frames: impl IntoIterator<Item = Frame<Bytes>>) -> Body {
        Body::new(Frames(frames.into_iter().collect()))
    }

    fn data(text: &'static str) -> Frame<Bytes> {
        Frame::data(Bytes::from_static(text.as_bytes()))
    }

    #[tokio::test]
    async fn bodies_are_read_whole_in_one_frame_or_many_and_bounded() {
        assert_eq!(read(body([]), 10).await.unwrap(), "");
        assert_eq!(read(body([data("{}")]), 10).await.unwrap(), "{}");
        let many = [data("{\"a\""), data(""), data(":1"), data("}")];
        assert_eq!(read(body(many), 10).await.unwrap(), "{\"a\":1}");
        let three = [data("{"), data("\"a\":1"), data("}")];
        assert_eq!(read(body(three), 10).await.unwrap(), "{\"a\":1}");
        assert_eq!(read(body([data(""), data("{}")]), 10).await.unwrap(), "{}");
        // One frame comes back as that frame, not a copy.
        let text = "{\"b\":2}";
        let whole = read(body([data(text)]), 10).await.unwrap();
        assert_eq!(whole.as_ptr(), text.as_ptr());
        // Trailers are not body.
        let trailers = Frame::trailers(axum::http::HeaderMap::new());
        assert_eq!(read(body([data("{}"), trailers]), 10).await.unwrap(), "{}");
        // The limit, in one frame and across frames.
        assert_eq!(
            read(body([data("0123456789")]), 10).await.unwrap(),
            "0123456789"
        );
        assert!(read(body([data("0123456789x")]), 10).await.is_none());
        assert!(
            read(body([data("01234"), data("56789x")]), 10)
                .await
                .is_none()
        );
        assert!(read(Body::new(Failing(false)), 10).await.is_none());
    }
}
