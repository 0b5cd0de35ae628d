import Foundation
import Bottleneck

/// How requests are gathered into forward passes.
public struct BatchingPolicy: Equatable, Sendable {
    /// Most samples in one forward pass; 1 request per pass when batching is off.
    public var maxBatchRows = 256
    /// How long the first request of a batch may wait for requests already being read to join
    /// it. A request alone is never held back: the wait is only for announced arrivals.
    public var maxDelay: Duration = .milliseconds(2)
    public var enabled = true
    /// Requests waiting at most; more are refused with 503 and Retry-After.
    public var maxQueuedRequests = 256
    /// A request still queued after this long is answered 503 instead of being run.
    public var requestTimeout: Duration = .seconds(30)

    public init() {}
}

/// One worker thread runs every forward pass, for all models: the machine's cores belong to the
/// BLAS and oneDNN threads inside each pass, and two passes at once would oversubscribe them.
/// Requests for the same model and operation that arrive within `maxDelay` of each other share
/// one pass (their rows concatenated, the outputs split back), so throughput under many clients
/// approaches in-process batch inference.
public final class InferenceQueue: @unchecked Sendable {
    /// A unit of work: `compute` maps a batch of inputs to outputs whose first axis is the batch.
    struct Work {
        /// Work with equal keys may share a pass; nil runs alone.
        var key: BatchKey?
        /// The model and operation, for metrics.
        var model: String
        var operation: ModelOperation
        var input: Tensor
        var compute: (Tensor) throws -> [Tensor]
    }

    struct BatchKey: Hashable {
        var model: ObjectIdentifier
        var operation: ModelOperation
        var sampleShape: [Int]
    }

    private final class Job {
        let work: Work
        let rows: Int
        let enqueued: ContinuousClock.Instant
        let done: (Result<[Tensor], Error>) -> Void
        init(_ work: Work, done: @escaping (Result<[Tensor], Error>) -> Void) {
            (self.work, self.done) = (work, done)
            rows = work.input.shape.first ?? 1
            enqueued = .now
        }
    }

    public let policy: BatchingPolicy
    private let condition = NSCondition()
    private var pending: [Job] = []
    /// Requests announced (their bodies being read) but not yet queued, per batch key.
    private var arriving: [BatchKey: Int] = [:]
    private var stopped = false
    private var thread: Thread?
    /// Called after every pass with the model, the operation and the number of samples (metrics).
    public var onBatch: (@Sendable (String, ModelOperation, Int) -> Void)?

    public init(policy: BatchingPolicy) {
        self.policy = policy
        let t = Thread { [unowned self] in self.workLoop() }
        t.name = "bottleneck-inference"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Requests waiting now.
    public var depth: Int { condition.lock(); defer { condition.unlock() }; return pending.count }

    /// Says that work of `key` is on its way (its body is being read), so a batch being formed
    /// may wait for it. Each announcement ends with `run` (announced: true) or `withdraw`.
    func announce(_ key: BatchKey) {
        condition.lock()
        arriving[key, default: 0] += 1
        condition.unlock()
    }

    func withdraw(_ key: BatchKey) {
        condition.lock()
        arriving[key, default: 1] -= 1
        if arriving[key] == 0 { arriving[key] = nil }
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `work` on the worker; refuses at once when the queue is full.
    func run(_ work: Work, announced: Bool = false) async throws -> [Tensor] {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Tensor], Error>) in
            condition.lock()
            defer { condition.unlock() }
            if announced, let key = work.key {
                arriving[key, default: 1] -= 1
                if arriving[key] == 0 { arriving[key] = nil }
            }
            guard !stopped else { c.resume(throwing: RequestError.overloaded("the server is shutting down")); return }
            guard pending.count < policy.maxQueuedRequests else {
                c.resume(throwing: RequestError.overloaded("\(pending.count) requests are queued, the most the server keeps; retry shortly"))
                return
            }
            pending.append(Job(work) { c.resume(with: $0) })
            condition.signal()
        }
    }

    /// Finishes the queued work, then ends the worker thread.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func workLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped { condition.unlock(); return }
            let batch = takeBatch()
            condition.unlock()
            execute(batch)
        }
    }

    /// Called locked: the oldest job and the queued jobs that can share its pass, waiting up to
    /// `maxDelay` from the oldest's arrival for announced requests while the batch is not full.
    private func takeBatch() -> [Job] {
        let first = pending[0]
        if policy.enabled, let key = first.work.key {
            let deadline = Date().addingTimeInterval(Self.seconds(policy.maxDelay - (ContinuousClock.now - first.enqueued)))
            while !stopped && rows(matching: key) < policy.maxBatchRows && arriving[key, default: 0] > 0 && Date() < deadline {
                _ = condition.wait(until: deadline)
            }
            var taken: [Job] = [], rows = 0, rest: [Job] = []
            for job in pending {
                if job.work.key == key && (taken.isEmpty || rows + job.rows <= policy.maxBatchRows) {
                    taken.append(job)
                    rows += job.rows
                } else {
                    rest.append(job)
                }
            }
            pending = rest
            return taken
        }
        pending.removeFirst()
        return [first]
    }

    private func rows(matching key: BatchKey) -> Int {
        pending.reduce(0) { $0 + ($1.work.key == key ? $1.rows : 0) }
    }

    private func execute(_ jobs: [Job]) {
        let now = ContinuousClock.now
        var live: [Job] = []
        for job in jobs {
            if now - job.enqueued > policy.requestTimeout {
                job.done(.failure(RequestError.overloaded("the request waited longer than the \(Self.seconds(policy.requestTimeout)) s request timeout")))
            } else {
                live.append(job)
            }
        }
        guard !live.isEmpty else { return }
        let input = live.count == 1 ? live[0].work.input : Tensor.concat(live.map(\.work.input), axis: 0)
        let result = Result { try live[0].work.compute(input) }
        onBatch?(live[0].work.model, live[0].work.operation, live.reduce(0) { $0 + $1.rows })
        switch result {
        case .failure(let e):
            for job in live { job.done(.failure(e)) }
        case .success(let outputs) where live.count == 1:
            live[0].done(.success(outputs))
        case .success(let outputs):
            var start = 0
            for job in live {
                job.done(.success(outputs.map { $0.rows(start, job.rows) }))
                start += job.rows
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
