import CZlib
import Foundation
import BottleneckCore

/// gzip through zlib.
public enum Gzip {
    public static func isGzipped(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    /// The inflated bytes, refusing past `limit`: a small file can inflate to any size.
    public static func decompress(_ data: Data, source: String, limit: Int = InputLimits.maxInflatedBytes) throws -> Data {
        try GzipStream(DataStream(data), source: source).readAll(limit: limit, source: source)
    }

    public static func compress(_ data: Data, level: Int32 = 6) -> Data {
        var stream = z_stream()
        precondition(bn_deflateInit2(&stream, level, 15 + 16) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            var status: Int32 = Z_OK
            repeat {
                buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(b.count)
                    status = deflate(&stream, Z_FINISH)
                    out.append(b.baseAddress!, count: b.count - Int(stream.avail_out))
                }
            } while status == Z_OK
        }
        return out
    }
}

/// Inflates a gzip stream as it is read (concatenated members too, as `gzip -d` does).
public final class GzipStream: ByteStream {
    private let input: ByteStream
    private let source: String
    // zlib keeps a pointer to its z_stream: it must not move, so it lives on the heap.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var inBuffer = [UInt8](repeating: 0, count: 1 << 15)
    private var inputEnded = false, memberEnded = false, started = false

    public init(_ input: ByteStream, source: String) {
        self.input = input
        self.source = source
        stream.initialize(to: z_stream())
    }

    deinit {
        if started { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Deflate expands at most 1032:1 (zlib's technical notes); zlib may also hold up to a window
    /// of output not yet delivered.
    public var maxBytesRemaining: Int {
        let input = input.maxBytesRemaining + Int(stream.pointee.avail_in)
        return checkedProduct(input, 1032).map { $0 + (1 << 16) } ?? Int.max
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return 0 }
        if !started {
            guard bn_inflateInit2(stream, 15 + 32) == Z_OK else { throw BottleneckError.file(source, "zlib could not start") }
            started = true
        }
        let capacity = min(buffer.count, Int(UInt32.max))
        stream.pointee.next_out = out
        stream.pointee.avail_out = uInt(capacity)
        try inBuffer.withUnsafeMutableBufferPointer { inb in
            while stream.pointee.avail_out == uInt(capacity) {
                if stream.pointee.avail_in == 0 && !inputEnded {
                    let n = try input.read(into: UnsafeMutableRawBufferPointer(inb))
                    if n == 0 { inputEnded = true } else {
                        stream.pointee.next_in = inb.baseAddress
                        stream.pointee.avail_in = uInt(n)
                    }
                }
                if memberEnded {
                    // Another member follows, or the data ends here.
                    guard stream.pointee.avail_in > 0 else { return }
                    inflateReset(stream)
                    memberEnded = false
                }
                if stream.pointee.avail_in == 0 && inputEnded {
                    throw BottleneckError.file(source, "gzip data ends early: truncated file")
                }
                let status = inflate(stream, Z_NO_FLUSH)
                if status == Z_STREAM_END { memberEnded = true; continue }
                guard status == Z_OK || (status == Z_BUF_ERROR && stream.pointee.avail_in == 0) else {
                    throw BottleneckError.file(source, "corrupt gzip data (zlib error \(status))")
                }
            }
        }
        return capacity - Int(stream.pointee.avail_out)
    }
}
