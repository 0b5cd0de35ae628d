import Bottleneck
import Foundation

/// A search index from `bottleneck index`, read as `bottleneck search` reads it, then its searcher built.
func fuzzSearchIndex(_ data: Data) throws {
    let index = try withTemporaryFile(data, suffix: ".safetensors") { try SearchIndex.read($0) }
    _ = try index.searcher()
}
