import Foundation

/// Writes `data` to `path` through a temporary file in the same folder and a rename.
public func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try data.write(to: tmp)
        if rename(tmp.path, url.path) != 0 { throw BottleneckError.file(path, "cannot be written (rename failed)") }
    } catch let e as BottleneckError {
        try? FileManager.default.removeItem(at: tmp)
        throw e
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw BottleneckError.file(path, "cannot be written: \(error.localizedDescription)")
    }
}
