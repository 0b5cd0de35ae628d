import Foundation
import Hummingbird
import NIOCore

/// The endpoints, over a `ModelService`. Handlers only move bytes between HTTP and the service.
struct Routes {
    let service: ModelService
    let metrics: ServerMetrics
    let authenticated: Bool

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Routes.json(Data("{\"status\":\"ok\"}".utf8)) }
        router.get("/readyz") { _, _ in
            let n = service.registry.all.count
            return Routes.json(Data("{\"status\":\"\(n > 0 ? "ready" : "no models loaded")\",\"models\":\(n)}".utf8), status: n > 0 ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            let text = metrics.exposition(queueDepth: service.queue.depth, models: service.registry.all.count)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.get("/openapi.json") { _, _ in
            Routes.json(OpenAPIDocument.json(models: service.registry.all, limits: service.limits, authenticated: authenticated))
        }
        router.get("/v1/models") { _, _ in Routes.json(service.listJSON()) }
        router.get("/v1/models/:name") { _, context in
            Routes.json(try service.infoJSON(context.parameters.get("name") ?? ""))
        }
        router.post("/v1/models/:name/:operation") { request, context in
            let name = context.parameters.get("name") ?? "", opName = context.parameters.get("operation") ?? ""
            guard let op = ModelOperation(rawValue: opName) else {
                throw RequestError.notFound("no operation '\(opName.prefix(64))': models offer \(ModelOperation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var request = request
            let limit = service.limits.maxBodyBytes
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
                throw RequestError.tooLarge("the body has \(length) bytes, more than the \(limit) a request may hold")
            }
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: limit) } catch let e as HTTPError where e.status == .contentTooLarge {
                throw RequestError.tooLarge("the body is larger than the \(limit) bytes a request may hold")
            }
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            let answer = try await service.handle(ServiceRequest(model: name, operation: op, body: Data(buffer.readableBytesView),
                                                                 contentType: request.headers[.contentType], accept: request.headers[.accept],
                                                                 query: query))
            return Response(status: .ok, headers: [.contentType: answer.contentType], body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
    }

    static func json(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error into a JSON answer `{"error": {"status", "message"}}`: request errors with
/// their own status, Hummingbird's (unknown route, body too large) with theirs, anything else 500
/// without internals. The server keeps serving after each.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as RequestError {
            var headers: HTTPFields = [:]
            if let after = e.retryAfter { headers[.retryAfter] = String(after) }
            if e.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
            return Self.answer(e.status, e.message, headers: headers)
        } catch let e as HTTPError {
            let message = e.body ?? (e.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path.prefix(200)) (see /openapi.json)" : e.status.reasonPhrase)
            return Self.answer(e.status.code, message, headers: e.headers)
        } catch {
            context.logger.error("request failed: \(error)")
            return Self.answer(500, "internal error")
        }
    }

    static func answer(_ status: Int, _ message: String, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        let body = "{\"error\":{\"status\":\(status),\"message\":\(ResponseWriter.quoted(message))}}"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Requires a bearer token on every endpoint but the probes and the API description.
struct BearerMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: BearerTokens
    static var open: Set<String> { ["/healthz", "/readyz", "/openapi.json"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.open.contains(request.uri.path) || tokens.accepts(authorization: request.headers[.authorization]) {
            return try await next(request, context)
        }
        throw RequestError.unauthorized(request.headers[.authorization] == nil ? "this server needs Authorization: Bearer <token>" : "the bearer token is not one this server accepts")
    }
}

/// Counts requests and their latency per model and endpoint, with the status answered.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let registry: ModelRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let (model, endpoint) = labels(request.uri.path)
        metrics.request(model: model, endpoint: endpoint, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    /// /v1/models/NAME/OP -> (NAME, OP) for loaded models and known operations; "-" otherwise.
    func labels(_ path: String) -> (String, String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "models" else {
            let known = ["healthz", "readyz", "metrics", "openapi.json"]
            return ("-", parts.count == 1 && known.contains(parts[0]) ? parts[0] : "-")
        }
        if parts.count == 2 { return ("-", "models") }
        let model = (try? registry.model(named: parts[2])) != nil ? parts[2] : "-"
        if parts.count == 3 { return (model, "info") }
        return (model, parts.count == 4 && ModelOperation(rawValue: parts[3]) != nil ? parts[3] : "-")
    }
}
