import CZlib
import Foundation
import BottleneckCore

/// gzip through zlib.
public enum Gzip {
    public static func isGzipped(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    public static func decompress(_ data: Data, source: String) throws -> Data {
        var stream = z_stream()
        guard bn_inflateInit2(&stream, 15 + 32) == Z_OK else { throw BottleneckError.file(source, "zlib could not start") }
        defer { inflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                try buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw BottleneckError.file(source, "corrupt gzip data (zlib error \(status))")
                    }
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                }
            } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else { throw BottleneckError.file(source, "gzip data ends early: truncated file") }
        return out
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

/// Reads a whole file, gunzipping it if it is gzip data.
public func readFileMaybeGzipped(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else { throw BottleneckError.file(path, "no such file") }
    guard let data = FileManager.default.contents(atPath: path) else { throw BottleneckError.file(path, "cannot be read") }
    return Gzip.isGzipped(data) ? try Gzip.decompress(data, source: path) : data
}
