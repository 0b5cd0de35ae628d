import XCTest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import BottleneckServe
@testable import Bottleneck

/// The shipped executable: `serve` draining on SIGTERM, `score --stream`, and scores equal to
/// `detect`'s.
final class ServeProcessTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-serve-cli" }

    var executable: URL { bottleneckExecutable }

    /// Starts `bottleneck serve` on a free port; returns the process and the port it printed.
    func startServe(_ extra: [String] = []) throws -> (Process, Int, Pipe) {
        let p = Process()
        p.executableURL = executable
        p.arguments = ["serve", "--models", ServeFixtures.models, "--port", "0"] + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = Int(text[range].split(separator: ":").last ?? "") else {
            p.terminate()
            throw BottleneckError("serve printed no port: \(text)")
        }
        XCTAssertTrue(text.contains("6 model(s)"), text)
        return (p, port, out)
    }

    /// SIGTERM while a long request runs: the request completes, the process exits 0.
    func testSIGTERMDrainsInFlightRequestsAndExitsZero() async throws {
        let (p, port, _) = try startServe()
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/models/vae/generate")!)
        r.httpMethod = "POST"
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        r.httpBody = Data("{\"count\": 4000}".utf8)
        r.timeoutInterval = 60
        let request = r
        let inFlight = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .milliseconds(150))
        kill(p.processIdentifier, SIGTERM)
        let (data, response) = try await inFlight.value
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200, String(decoding: data.prefix(200), as: UTF8.self))
        XCTAssertTrue(String(decoding: data.prefix(100), as: UTF8.self).contains("\"shape\":[4000,1,28,28]"))
        let deadline = Date().addingTimeInterval(20)
        while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        XCTAssertFalse(p.isRunning, "serve stops after SIGTERM")
        if p.isRunning { p.terminate() } else { XCTAssertEqual(p.terminationStatus, 0) }
    }

    /// `score --stream` answers JSON and CSV lines as they come, matches `detect` to 1e-6, and
    /// answers a bad line with an error line while the stream goes on.
    func testScoreStreamMatchesDetect() throws {
        let rows = ServeFixtures.tableRows(6, seed: 21)
        try ServeFixtures.writeTable(rows, to: dir + "/rows.csv")
        let model = ServeFixtures.models + "/table.safetensors"
        let detect = try runCLI(["detect", "--model", model, "--data", "rows.csv", "-o", "detect.csv"], in: dir)
        XCTAssertEqual(detect.status, 0, detect.err)
        let detectScores = try detectColumn(dir + "/detect.csv", "score")

        var input = "a,b,c,d\n"
        for r in rows[0..<3] { input += r.map { String($0) }.joined(separator: ",") + "\n" }
        input += "1,2,oops,4\n"
        input += "[" + rows[3].map { String($0) }.joined(separator: ",") + "]\n"
        input += "{\"d\": \(rows[4][3]), \"c\": \(rows[4][2]), \"b\": \(rows[4][1]), \"a\": \(rows[4][0])}\n\n"
        input += rows[5].map { String($0) }.joined(separator: ",") + "\n"
        let p = Process()
        p.executableURL = executable
        p.arguments = ["score", "--model", model, "--stream"]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        (p.standardInput, p.standardOutput, p.standardError) = (stdin, stdout, stderr)
        try p.run()
        // The first answer arrives before the input ends: scoring is online.
        stdin.fileHandleForWriting.write(Data("a,b,c,d\n\(rows[0].map { String($0) }.joined(separator: ","))\n".utf8))
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) { first += stdout.fileHandleForReading.availableData }
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("{\"line\":2,\"score\":"))
        stdin.fileHandleForWriting.write(Data(input.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)[2].utf8))
        stdin.fileHandleForWriting.closeFile()
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = (String(decoding: first + rest, as: UTF8.self)).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 7, lines.joined(separator: "\n"))
        XCTAssertEqual(p.terminationStatus, 1, "a line could not be scored")
        XCTAssertTrue(String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("1 line(s) could not be scored"))
        let answers = try lines.map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertTrue((answers[3]["error"] as? String ?? "").contains("line 5"), "\(answers[3])")
        let scored = answers.filter { $0["error"] == nil }
        XCTAssertEqual(scored.count, 6)
        for (a, e) in zip(scored, detectScores) {
            XCTAssertEqual((a["score"] as? NSNumber)?.doubleValue ?? .nan, e, accuracy: 1e-6)
            XCTAssertNotNil(a["flag"] as? Bool, "the table model stores a detector")
            XCTAssertEqual((a["top_features"] as? [Any])?.count, 3)
        }
    }

    /// Served scores equal `bottleneck detect`'s on the same rows to 1e-6.
    func testServedScoresEqualDetect() async throws {
        try NPYArray.write(ServeFixtures.testImages.rows(0, 20).copy(), to: dir + "/rows.npy")
        let model = ServeFixtures.models + "/dense.safetensors"
        let detect = try runCLI(["detect", "--model", model, "--data", "rows.npy", "-o", "detect.csv"], in: dir)
        XCTAssertEqual(detect.status, 0, detect.err)
        let detectScores = try detectColumn(dir + "/detect.csv", "score"), detectFlags = try detectColumn(dir + "/detect.csv", "flag")
        let (p, port, _) = try startServe()
        defer { p.terminate() }
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/models/dense/score")!)
        r.httpMethod = "POST"
        r.setValue("application/x-npy", forHTTPHeaderField: "Content-Type")
        r.httpBody = try Data(contentsOf: URL(fileURLWithPath: dir + "/rows.npy"))
        let (data, _) = try await URLSession.shared.data(for: r)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let scores = (answer["scores"] as? [NSNumber] ?? []).map(\.doubleValue), flags = answer["flags"] as? [Bool] ?? []
        XCTAssertEqual(scores.count, 20)
        for i in 0..<20 {
            XCTAssertEqual(scores[i], detectScores[i], accuracy: 1e-6)
            XCTAssertEqual(flags[i], detectFlags[i] == 1)
        }
    }

    /// A column of `detect -o`'s results (which also hold feature names, so not a numeric table).
    func detectColumn(_ path: String, _ name: String) throws -> [Double] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let c = try XCTUnwrap(lines.first?.firstIndex(of: Substring(name)), "\(name) in \(lines.first ?? [])")
        return try lines.dropFirst().map { try XCTUnwrap(Double($0[c])) }
    }

    func testServeFlagErrorsAreOneLine() throws {
        try expectCLIError(["serve", "--models", "missing-folder"], in: dir, ["--models", "missing-folder is not a folder"])
        try expectCLIError(["serve", "--models", ".", "--host", "0.0.0.0"], in: dir, ["--token-file", "required"])
        try expectCLIError(["serve", "--models", ".", "--batch-delay", "soon"], in: dir, ["--batch-delay"])
        try expectCLIError(["serve", "--models", ".", "--max-rows", "0"], in: dir, ["--max-rows"])
        try expectCLIError(["score", "--model", "nope.safetensors", "--stream"], in: dir, ["nope.safetensors"])
    }
}
