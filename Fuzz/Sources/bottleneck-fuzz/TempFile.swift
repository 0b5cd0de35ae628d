import Foundation

/// Readers that take a path (model files, search indexes, architecture files) get the input
/// through one file per process, rewritten for each input, so they run exactly as the CLI runs them.
func withTemporaryFile<T>(_ data: Data, suffix: String, _ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "/bottleneck-fuzz-\(getpid())\(suffix)"
    guard FileManager.default.createFile(atPath: path, contents: data) else {
        fatalError("bottleneck-fuzz: cannot write the temporary file \(path)")
    }
    defer { unlink(path) }
    return try body(path)
}
