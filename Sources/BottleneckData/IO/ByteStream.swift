import Foundation
import BottleneckCore

/// Bytes read front to back from a file, from memory or through gzip. Readers ask for what a
/// header declares and check the end, so memory follows the sizes they accept, never what a
/// hostile file inflates to.
public protocol ByteStream: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; the count read, 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// The most bytes the stream can still deliver, from the bytes actually present (exact for a
    /// file or memory, a bound for compressed data); readers refuse a header declaring more before
    /// they allocate for it.
    var maxBytesRemaining: Int { get }
}

extension ByteStream {
    /// Fills `buffer` unless the stream ends first; the count read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Exactly `count` bytes, or nil when the stream ends first.
    public func readBytes(_ count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try readFully(into: $0) }
        return n == count ? bytes : nil
    }

    /// True when no byte is left (one is consumed otherwise).
    public func isAtEnd() throws -> Bool {
        var byte: UInt8 = 0
        return try withUnsafeMutableBytes(of: &byte) { try read(into: $0) } == 0
    }

    /// Everything left, refusing past `limit` bytes (`what` names the stream in the error).
    public func readAll(limit: Int, source: String) throws -> Data {
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            guard out.count + n <= limit else {
                throw BottleneckError.file(source, "holds more than \(ByteCount(limit)), the limit for one file")
            }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// A stream over bytes in memory.
public final class DataStream: ByteStream {
    private let data: Data
    private var position = 0
    public init(_ data: Data) { self.data = data.startIndex == 0 ? data : Data(data) }
    public var maxBytesRemaining: Int { data.count - position }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - position)
        if n > 0 { data.copyBytes(to: buffer.bindMemory(to: UInt8.self).baseAddress!, from: position..<(position + n)) }
        position += n
        return n
    }
}

/// A stream over a file (stdio: buffered, never the whole file in memory).
public final class FileStream: ByteStream {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String
    private let size: Int
    public init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw BottleneckError.file(path, "no such file") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw BottleneckError.file(path, "is not a regular file") }
        guard let f = fopen(path, "rb") else { throw BottleneckError.file(path, "cannot be read") }
        file = f
        self.path = path
        size = Int(info.st_size)
    }
    public var maxBytesRemaining: Int { max(0, size - ftell(file)) }
    deinit { fclose(file) }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = fread(base, 1, buffer.count, file)
        if n == 0 && ferror(file) != 0 { throw BottleneckError.file(path, "cannot be read (I/O error)") }
        return n
    }
}

/// Opens `path` for reading, through gzip when its first bytes are gzip's magic.
public func openMaybeGzipped(_ path: String) throws -> ByteStream {
    let file = try FileStream(path: path)
    let magic = try file.readBytes(2)
    let reopened = try FileStream(path: path)
    return magic == [0x1f, 0x8b] ? GzipStream(reopened, source: path) : reopened
}
