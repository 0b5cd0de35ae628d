import Bottleneck
import Foundation

/// An IDX file's bytes (MNIST's format), plain.
func fuzzIDX(_ data: Data) throws {
    _ = try IDXArray.decode(data, source: "fuzz.idx")
}

/// Gzipped IDX bytes through the route `readFileMaybeGzipped` takes: inflate, then decode.
/// Inputs that are not gzip data are skipped, so every execution exercises the inflater.
func fuzzGzippedIDX(_ data: Data) throws {
    guard Gzip.isGzipped(data) else { return }
    _ = try IDXArray.decode(try Gzip.decompress(data, source: "fuzz.idx.gz"), source: "fuzz.idx.gz")
}
