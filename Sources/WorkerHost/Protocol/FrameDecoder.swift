import NIOCore

/// Splits a worker's byte stream into newline-terminated frames, refusing any frame over `maxBytes`.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maxBytes: Int
    private var searched = 0

    init(maxBytes: Int = WorkerProtocol.maxFrameBytes) {
        self.maxBytes = maxBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let start = view.startIndex
        guard let newline = view[(start + searched)...].firstIndex(of: UInt8(ascii: "\n")) else {
            searched = view.count
            guard view.count <= maxBytes else { throw FrameTooLarge(limit: maxBytes) }
            return .needMoreData
        }
        let length = newline - start
        searched = 0
        guard length <= maxBytes else { throw FrameTooLarge(limit: maxBytes) }
        guard let frame = buffer.readSlice(length: length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        if frame.readableBytes > 0 { context.fireChannelRead(Self.wrapInboundOut(frame)) }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw TruncatedFrame(bytes: buffer.readableBytes)
        }
        return .needMoreData
    }
}

/// A worker sent more than the frame limit without a newline.
struct FrameTooLarge: Error, CustomStringConvertible {
    var limit: Int
    var description: String { "frame larger than \(limit / 1024 / 1024) MiB" }
}

/// A worker closed the socket in the middle of a frame.
struct TruncatedFrame: Error, CustomStringConvertible {
    var bytes: Int
    var description: String { "connection closed in the middle of a frame (\(bytes) bytes without a newline)" }
}
