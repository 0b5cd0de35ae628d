import NIOCore

/// Holds a connection's close until the writes before it have reached the socket.
///
/// Hummingbird closes a connection right after writing a response's end when it is told to
/// (graceful shutdown, idle timeout), and NIO drops writes still pending at close: a large
/// answer to a request in flight at SIGTERM would be cut short. Placed between Hummingbird's
/// connection-state handler and the HTTP codec, this sees that close and passes it on once the
/// pending writes complete, or after `limit` if the client stops reading.
final class FlushBeforeClose: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any

    private let limit: TimeAmount
    private var pending = 0
    private var deferredClose: (mode: CloseMode, promise: EventLoopPromise<Void>?)?

    init(limit: TimeAmount) { self.limit = limit }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        pending += 1
        let done = promise ?? context.eventLoop.makePromise()
        done.futureResult.whenComplete { [self] _ in
            pending -= 1
            if pending == 0 { closeNow(context) }
        }
        context.write(data, promise: done)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, pending > 0 else { context.close(mode: mode, promise: promise); return }
        deferredClose = (mode, promise)
        context.flush()
        context.eventLoop.scheduleTask(in: limit) { [self] in closeNow(context) }
    }

    private func closeNow(_ context: ChannelHandlerContext) {
        guard let c = deferredClose else { return }
        deferredClose = nil
        context.close(mode: c.mode, promise: c.promise)
    }
}
