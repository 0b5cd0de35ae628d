import Bottleneck
import Foundation

/// A PNG or JPEG file's bytes (libpng / libjpeg behind the C shim).
func fuzzImage(_ data: Data) throws {
    _ = try Image.decode(data, source: "fuzz.png")
}
