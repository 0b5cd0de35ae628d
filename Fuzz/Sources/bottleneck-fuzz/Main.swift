import CFuzzerDriver
import Foundation

/// A harness feeds one fuzz input to one reader. Returning or throwing is success (a thrown
/// error is a refusal); a trap, a sanitizer report, a timeout or running out of memory is a finding.
typealias Harness = (Data) throws -> Void

/// Every harness, by the name `FUZZ_TARGET` selects.
let harnesses: [String: Harness] = [
    "idx": fuzzIDX,
    "idx-gz": fuzzGzippedIDX,
    "npy": fuzzNPY,
    "csv": fuzzCSV,
    "image": fuzzImage,
    "safetensors": fuzzSafeTensors,
    "model": fuzzModel,
    "architecture": fuzzArchitecture,
    "bnz": fuzzCompressedCodes,
    "search-index": fuzzSearchIndex,
]

/// The harness chosen once, before the first input.
nonisolated(unsafe) var selected: Harness?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let names = harnesses.keys.sorted().joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] else {
        FileHandle.standardError.write(Data("bottleneck-fuzz: set FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    guard let harness = harnesses[name] else {
        FileHandle.standardError.write(Data("bottleneck-fuzz: unknown FUZZ_TARGET '\(name)'; harnesses: \(names)\n".utf8))
        exit(2)
    }
    selected = harness
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    do { try selected!(data) } catch {}
    return 0
}

/// SwiftPM links an executable with `main` defined as `<target>_main`; libFuzzer's driver runs from it.
@_cdecl("bottleneck_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzerTestOneInput($0, $1) }
}
