import Bottleneck
import Foundation

/// An IDX file's bytes (MNIST's format), plain.
func fuzzIDX(_ data: Data) throws {
    _ = try IDXArray.decode(data, source: "fuzz.idx")
}

/// Gzipped IDX bytes through the route `IDXArray.read` takes for a .gz file: inflated as a stream
/// while decoding, then the whole-stream inflater `Gzip.decompress`. Inputs that are not
/// gzip data are skipped, so every execution exercises the inflater.
func fuzzGzippedIDX(_ data: Data) throws {
    guard Gzip.isGzipped(data) else { return }
    _ = try? IDXArray.decode(data, source: "fuzz.idx.gz")
    _ = try Gzip.decompress(data, source: "fuzz.idx.gz", limit: 64 << 20)
}
