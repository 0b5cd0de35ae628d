import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builders for convolution, pooling, up-sampling, normalisation, dropout and recurrent layers.
/// User arguments are validated here, so a bad architecture file gives an error, not a trap.
extension LayerFactory {
    static let spatialTypes: [String: LayerType] = [
        "conv2d": LayerType(keys: ["out", "kernel", "stride", "padding", "dilation", "bias"], values: { s, shape in
            let k = try size2D(s, "kernel"), out = try positive(s, "out")
            return total(count(out, try imageChannels(shape, "conv2d"), k.h, k.w), try s.bool("bias", default: true) ? out : 0)
        }) { s, shape, rng in
            let c = try imageChannels(shape, "conv2d")
            let k = try size2D(s, "kernel"), stride = try size2D(s, "stride", default: 1), dil = try size2D(s, "dilation", default: 1)
            let out = try positive(s, "out")
            let padding: ConvPadding
            if case .string(let p)? = s.args["padding"] {
                guard p == "same" else { throw BottleneckError("argument 'padding' must be an integer, [h, w] or \"same\", got \"\(p)\"") }
                guard stride == 1 else { throw BottleneckError("padding \"same\" needs stride 1") }
                padding = .same
            } else {
                let p = try size2D(s, "padding", default: 0, allowZero: true)
                padding = .explicit(p)
            }
            return Conv2D(c, out, k, stride: stride, padding: padding, dilation: dil, bias: try s.bool("bias", default: true), rng: rng)
        },
        "conv_transpose2d": LayerType(keys: ["out", "kernel", "stride", "padding", "output_padding", "bias"], values: { s, shape in
            let k = try size2D(s, "kernel"), out = try positive(s, "out")
            return total(count(out, try imageChannels(shape, "conv_transpose2d"), k.h, k.w), try s.bool("bias", default: true) ? out : 0)
        }) { s, shape, rng in
            let c = try imageChannels(shape, "conv_transpose2d")
            let k = try size2D(s, "kernel"), stride = try size2D(s, "stride", default: 1)
            let p = try size2D(s, "padding", default: 0, allowZero: true), op = try size2D(s, "output_padding", default: 0, allowZero: true)
            guard op.h < stride.h, op.w < stride.w else { throw BottleneckError("output_padding \(op) must be smaller than the stride \(stride)") }
            return ConvTranspose2D(c, try positive(s, "out"), k, stride: stride, padding: p, outputPadding: op,
                                   bias: try s.bool("bias", default: true), rng: rng)
        },
        "maxpool2d": LayerType(keys: ["kernel", "stride", "padding"]) { s, shape, _ in
            _ = try imageChannels(shape, "maxpool2d")
            let k = try size2D(s, "kernel")
            return MaxPool2D(k, stride: try size2D(s, "stride", default: k), padding: try size2D(s, "padding", default: 0, allowZero: true))
        },
        "avgpool2d": LayerType(keys: ["kernel", "stride", "padding"]) { s, shape, _ in
            _ = try imageChannels(shape, "avgpool2d")
            let k = try size2D(s, "kernel")
            return AvgPool2D(k, stride: try size2D(s, "stride", default: k), padding: try size2D(s, "padding", default: 0, allowZero: true))
        },
        "upsample": LayerType(keys: ["scale", "mode"]) { s, shape, _ in
            _ = try imageChannels(shape, "upsample")
            guard let mode = Upsample2D.Mode(rawValue: try s.string("mode", default: "nearest")) else {
                throw BottleneckError("argument 'mode' must be \"nearest\" or \"bilinear\"")
            }
            return Upsample2D(scale: try size2D(s, "scale", default: 2), mode: mode)
        },
        "batchnorm1d": LayerType(keys: ["momentum", "eps"], values: { _, shape in total(count(4, shape.first ?? 0), 1) }) { s, shape, _ in
            guard shape.count == 1 || shape.count == 2 else { throw BottleneckError("needs [features] or [channels, length] input, got \(formatShape(shape))") }
            return BatchNorm1D(shape[0], momentum: try s.float("momentum", default: 0.1), eps: try s.float("eps", default: 1e-5))
        },
        "batchnorm2d": LayerType(keys: ["momentum", "eps"], values: { _, shape in total(count(4, shape.first ?? 0), 1) }) { s, shape, _ in
            return BatchNorm2D(try imageChannels(shape, "batchnorm2d"), momentum: try s.float("momentum", default: 0.1), eps: try s.float("eps", default: 1e-5))
        },
        "dropout": LayerType(keys: ["p"]) { s, _, rng in
            let p = try s.float("p", default: 0.5)
            guard (0...1).contains(p) else { throw BottleneckError("argument 'p' must be in [0, 1], got \(p)") }
            return Dropout(p, rng: rng)
        },
        "lstm": LayerType(keys: ["hidden"], values: { s, shape in
            let h = try positive(s, "hidden")  // PyTorch's layout: 4H x (in + H) weights and two 4H biases
            return count(4, h, (shape.last ?? 0) + h + 2)
        }) { s, shape, rng in
            guard shape.count == 2 else { throw BottleneckError("needs sequences [steps, features], got \(formatShape(shape))") }
            return LSTM(shape[1], try positive(s, "hidden"), rng: rng)
        },
        "repeat": LayerType(keys: ["steps"]) { s, shape, _ in
            guard shape.count == 1 else { throw BottleneckError("needs a flat code [features], got \(formatShape(shape))") }
            return RepeatVector(try positive(s, "steps"))
        },
        "residual": LayerType(keys: ["out", "stride"], values: { s, shape in
            let c = try imageChannels(shape, "residual"), out = try positive(s, "out", default: c)
            let shortcut = try positive(s, "stride", default: 1) != 1 || c != out
            // Two 3x3 convolutions and BatchNorms (4 values per channel and a counter), and a 1x1 shortcut with its own.
            return total(count(out, c + out, 9), count(8, out), 2, shortcut ? total(count(out, c), count(4, out), 1) : 0)
        }) { s, shape, rng in
            let c = try imageChannels(shape, "residual")
            return ResidualBlock(c, try positive(s, "out", default: c), stride: try positive(s, "stride", default: 1), rng: rng)
        },
        "last_step": LayerType(keys: []) { _, shape, _ in
            guard shape.count == 2 else { throw BottleneckError("needs sequences [steps, features], got \(formatShape(shape))") }
            return LastStep()
        },
    ]

    static func imageChannels(_ shape: [Int], _ type: String) throws -> Int {
        guard shape.count == 3 else { throw BottleneckError("needs image input [channels, height, width], got \(formatShape(shape))") }
        return shape[0]
    }

    /// The largest kernel, stride, padding, dilation or scale an architecture may give.
    public static let maxSpatialArgument = 1 << 24

    static func positive(_ s: LayerSpec, _ key: String, default value: Int? = nil) throws -> Int {
        let v = try s.int(key, default: value)
        guard v >= 1 else { throw BottleneckError("argument '\(key)' must be at least 1, got \(v)") }
        return v
    }

    /// An integer or an [h, w] pair.
    static func size2D(_ s: LayerSpec, _ key: String, default value: Size2D? = nil, allowZero: Bool = false) throws -> Size2D {
        let size: Size2D
        switch s.args[key] {
        case nil:
            guard let value else { throw BottleneckError("missing argument '\(key)'") }
            return value
        case .array?:
            let pair = try s.ints(key)
            guard pair.count == 2 else { throw BottleneckError("argument '\(key)' must be an integer or [h, w]") }
            size = Size2D(pair[0], pair[1])
        default:
            size = Size2D(try s.int(key))
        }
        guard size.h >= (allowZero ? 0 : 1), size.w >= (allowZero ? 0 : 1) else {
            throw BottleneckError("argument '\(key)' must be \(allowZero ? "non-negative" : "positive"), got \(size)")
        }
        // Spatial sizes multiply with image sizes: bounded so shape arithmetic cannot overflow.
        guard size.h <= maxSpatialArgument, size.w <= maxSpatialArgument else {
            throw BottleneckError("argument '\(key)' is \(size), more than the \(maxSpatialArgument) a spatial size may be")
        }
        return size
    }
}

/// [N, T, H] -> [N, H]: the last time step of a sequence (a sequence encoder's code).
public final class LastStep: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        x.narrow(axis: 1, start: x.shape[1] - 1, length: 1).reshaped([x.shape[0], x.shape[2]])
    }
    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 2 else { throw BottleneckError.shape(layer: "LastStep", expected: "[T, H]", got: input) }
        return [input[1]]
    }
}
