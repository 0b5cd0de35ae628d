import Bottleneck
import Foundation

/// A NumPy .npy file's bytes.
func fuzzNPY(_ data: Data) throws {
    _ = try NPYArray.decode(data, source: "fuzz.npy")
}
