import Bottleneck
import Foundation

/// A search index from `bottleneck index`, read as `bottleneck search` reads it, then its searcher built.
func fuzzSearchIndex(_ data: Data) throws {
    let index = try SearchIndex.decode(data, source: "fuzz.safetensors")
    _ = try index.searcher()
}
