import Bottleneck
import Foundation

/// A safetensors file's bytes: the JSON header, then the tensors' byte ranges.
func fuzzSafeTensors(_ data: Data) throws {
    _ = try SafeTensors.decode(data, source: "fuzz.safetensors")
}
