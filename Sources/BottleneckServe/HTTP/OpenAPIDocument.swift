import Foundation
import Bottleneck

/// The OpenAPI 3.1 description of the running server, built from the same tables the router
/// uses (operations, formats, limits, loaded model names), so it cannot drift from what the
/// server does. `make quality` checks it against the server with schemathesis.
enum OpenAPIDocument {
    static let version = "1.0.0"

    static func json(models: [ServedModel], limits: RequestLimits, authenticated: Bool) -> Data {
        var paths: [String: Any] = [
            "/healthz": ["get": get("Liveness: the process answers.", ok: jsonContent(ref("Status")), auth: false)],
            "/readyz": ["get": get("Readiness: models are loaded.", ok: jsonContent(ref("Status")), auth: false, unavailable: true)],
            "/metrics": ["get": get("Prometheus text exposition.", ok: ["text/plain; version=0.0.4": ["schema": ["type": "string"]]], auth: authenticated)],
            "/openapi.json": ["get": get("This document.", ok: jsonContent(["type": "object"]), auth: false)],
            "/v1/models": ["get": get("The served models.", ok: jsonContent(ref("ModelList")), auth: authenticated)],
        ]
        var info = get("One model: architecture, input shape, feature names, scaling, threshold, training figures.",
                       ok: jsonContent(ref("ModelInfo")), auth: authenticated, model: true)
        info["parameters"] = [nameParameter(models)]
        paths["/v1/models/{name}"] = ["get": info]
        for op in ModelOperation.allCases {
            paths["/v1/models/{name}/\(op.rawValue)"] = ["post": post(op, models: models, limits: limits, auth: authenticated)]
        }
        var doc: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Bottleneck model server", "version": version,
                     "description": "Scores, encodes and restores with trained Bottleneck autoencoders. Errors are JSON {\"error\": {\"status\", \"message\"}}."],
            "paths": paths,
            "components": ["schemas": schemas(limits)] as [String: Any],
        ]
        if authenticated {
            doc["components"] = ["schemas": schemas(limits),
                                 "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]]] as [String: Any]
        }
        return (try? JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
    static func jsonContent(_ schema: [String: Any]) -> [String: Any] { ["application/json": ["schema": schema]] }
    static func error(_ text: String) -> [String: Any] { ["description": text, "content": jsonContent(ref("Error"))] }

    static func nameParameter(_ models: [ServedModel]) -> [String: Any] {
        // The loaded names, so generated requests reach the models; other names answer 400 or 404.
        var schema: [String: Any] = ["type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"]
        if !models.isEmpty { schema["enum"] = models.map(\.name) }
        return ["name": "name", "in": "path", "required": true, "description": "A model's name: its file name without .safetensors.", "schema": schema]
    }

    static func get(_ summary: String, ok: [String: Any], auth: Bool, unavailable: Bool = false, model: Bool = false) -> [String: Any] {
        var responses: [String: Any] = ["200": ["description": "OK", "content": ok]]
        if unavailable { responses["503"] = ["description": "No model loaded yet", "content": jsonContent(ref("Status"))] }
        if auth { responses["401"] = error("Missing or unknown bearer token") }
        if model {
            responses["400"] = error("Not a model name")
            responses["404"] = error("No such model")
        }
        var op: [String: Any] = ["summary": summary, "responses": responses]
        if auth { op["security"] = [["bearer": [String]()]] }
        return op
    }

    static let summaries: [ModelOperation: String] = [
        .score: "Anomaly scores per sample, per-feature errors for tables, and flags by the stored threshold.",
        .encode: "Latent codes (the encoder's output; a VAE's mean).",
        .reconstruct: "Reconstructions, in the data's own scale.",
        .decode: "Outputs decoded from latent codes (rows or codes hold codes).",
        .generate: "Samples decoded from the latent prior (VAE and AAE models).",
        .denoise: "Denoised samples (denoising image models; images of any size, in tiles).",
        .inpaint: "The hole ?rect=x,y,width,height filled (image models trained with occlusion or masking noise).",
        .colorize: "Colour from gray images (colorize models).",
        .unwatermark: "Watermark removed (unwatermark models).",
    ]

    static func post(_ op: ModelOperation, models: [ServedModel], limits: RequestLimits, auth: Bool) -> [String: Any] {
        var params: [[String: Any]] = [nameParameter(models)]
        if op == .inpaint {
            params.append(["name": "rect", "in": "query", "required": true, "description": "The hole: x,y,width,height in pixels.",
                           "schema": ["type": "string", "pattern": "^[0-9]+,[0-9]+,[0-9]+,[0-9]+$"]])
        }
        let binary: [String: Any] = ["schema": ["type": "string", "format": "binary"]]
        var requestContent: [String: Any]
        if op == .generate {
            requestContent = jsonContent(ref("GenerateRequest"))
        } else {
            requestContent = ["application/json": ["schema": ref("Rows")], "application/x-npy": binary]
            requestContent["image/png"] = binary
            requestContent["image/jpeg"] = binary
        }
        var ok: [String: Any]
        switch op {
        case .score: ok = jsonContent(ref("Scores"))
        case .encode: ok = ["application/json": ["schema": ref("Codes")], "application/x-npy": binary]
        default: ok = ["application/json": ["schema": ref("Samples")], "application/x-npy": binary, "image/png": binary]
        }
        var responses: [String: Any] = [
            "200": ["description": "OK", "content": ok],
            "400": error("Malformed body, bad parameter or not a model name"),
            "404": error("No such model, or the model does not offer this operation"),
            "406": error("No acceptable response format"),
            "413": error("Body larger than \(limits.maxBodyBytes) bytes or more than \(limits.maxRows) samples"),
            "415": error("Unsupported Content-Type"),
            "422": error("The samples do not fit the model (shape, columns, non-finite values)"),
            "503": ["description": "Queue full or request timed out; retry after the Retry-After header's seconds",
                    "headers": ["Retry-After": ["schema": ["type": "integer"]]], "content": jsonContent(ref("Error"))],
        ]
        if auth { responses["401"] = error("Missing or unknown bearer token") }
        var result: [String: Any] = ["summary": summaries[op]!, "operationId": op.rawValue, "parameters": params,
                                     "requestBody": ["required": op != .generate, "content": requestContent], "responses": responses]
        if auth { result["security"] = [["bearer": [String]()]] }
        return result
    }

    static func schemas(_ limits: RequestLimits) -> [String: Any] {
        let number: [String: Any] = ["type": "number"]
        let nullableNumbers: [String: Any] = ["type": "array", "items": ["type": ["number", "null"]]]
        let row: [String: Any] = ["oneOf": [
            ["type": "array", "description": "A sample's values, flat or nested as its shape", "items": ["oneOf": [number, ["type": "array"]]]],
            ["type": "object", "description": "A table row keyed by the model's feature names", "additionalProperties": number],
        ]]
        let rows: [String: Any] = ["type": "array", "minItems": 1, "maxItems": limits.maxRows, "items": row]
        let tensorOut: (String) -> [String: Any] = { key in
            ["type": "object", "required": ["model", "shape", key],
             "properties": ["model": ["type": "string"], "shape": ["type": "array", "items": ["type": "integer"]],
                            key: ["type": "array", "items": nullableNumbers]]]
        }
        return [
            "Error": ["type": "object", "required": ["error"],
                      "properties": ["error": ["type": "object", "required": ["status", "message"],
                                               "properties": ["status": ["type": "integer"], "message": ["type": "string"]]]]],
            "Status": ["type": "object", "required": ["status"], "properties": ["status": ["type": "string"], "models": ["type": "integer"]]],
            "Rows": ["type": "object", "description": "Samples in the data's own scale; /decode also takes the key codes.",
                     "properties": ["rows": rows, "codes": rows],
                     "anyOf": [["required": ["rows"]], ["required": ["codes"]]]],
            "GenerateRequest": ["type": "object", "properties": ["count": ["type": "integer", "minimum": 1, "maximum": limits.maxRows, "default": 1],
                                                                 "seed": ["type": "integer", "minimum": 0, "default": 0]]],
            "Scores": ["type": "object", "required": ["model", "score", "threshold", "scores", "flags"],
                       "properties": ["model": ["type": "string"], "score": ["type": "string", "enum": AnomalyScore.allCases.map(\.rawValue)],
                                      "threshold": ["type": ["number", "null"]], "scores": nullableNumbers,
                                      "flags": ["type": ["array", "null"], "items": ["type": "boolean"]],
                                      "feature_errors": ["type": "array", "items": nullableNumbers],
                                      "features": ["type": "array", "items": ["type": "string"]]]],
            "Codes": tensorOut("codes"),
            "Samples": tensorOut("rows"),
            "ModelInfo": ["type": "object", "required": ["name", "file", "architecture", "scaling", "score", "operations"],
                          "properties": ["name": ["type": "string"], "file": ["type": "string"], "loaded_at": ["type": "string"],
                                         "architecture": ["type": "object", "required": ["name", "input_shape", "code_shape", "parameters"]],
                                         "feature_names": ["type": "array", "items": ["type": "string"]],
                                         "classes": ["type": "array", "items": ["type": "integer"]],
                                         "scaling": ["type": "string"], "score": ["type": "string"],
                                         "detector": ["type": "object", "required": ["score", "rule", "threshold"]],
                                         "training": ["type": "object"],
                                         "operations": ["type": "array", "items": ["type": "string", "enum": ModelOperation.allCases.map(\.rawValue)]]]],
            "ModelList": ["type": "object", "required": ["models"], "properties": ["models": ["type": "array", "items": ref("ModelInfo")]]],
        ]
    }
}
