import BottleneckCore
import BottleneckNN
import BottleneckData
/// The named architectures. Each is a plain `ArchitectureSpec`, so `bottleneck summary --preset X
/// --print-json` shows a starting point for a custom architecture file.
public enum Preset: String, CaseIterable {
    case dense, deepDense = "deep-dense", conv, convBN = "conv-bn", linear, lstm, resnet

    public var summary: String {
        switch self {
        case .dense: return "784-32-784 style: flatten, dense to a 32-unit ReLU code, dense back, sigmoid"
        case .deepDense: return "sandwich 784-128-64-32-64-128-784 with ReLU, sigmoid output"
        case .conv: return "two stride-2 convs 1->16->32, dense 128-unit code, two transposed convs back, sigmoid"
        case .convBN: return "3x3 convs of 64 kernels + BatchNorm + LeakyReLU, max-pooling encoder, nearest up-sampling decoder, sigmoid"
        case .linear: return "a single linear map to the code and back, no activations (PCA's optimum)"
        case .resnet: return "strong encoder: conv stem + residual blocks with BatchNorm (32, 64/2, 128/2), dense code; conv preset's decoder"
        case .lstm: return "sequence autoencoder: LSTM encoder's last state to a code, repeated, LSTM decoder, per-step linear output"
        }
    }

    public static func named(_ name: String) throws -> Preset {
        guard let p = Preset(rawValue: name.lowercased()) ?? (name == "deep_dense" ? .deepDense : nil) else {
            throw BottleneckError("unknown preset '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return p
    }

    /// The spec for data of per-sample `inputShape`, with a code of `codeSize` where it applies
    /// (nil: the preset's own size).
    public func spec(inputShape: [Int], codeSize: Int? = nil) throws -> ArchitectureSpec {
        func l(_ t: String, _ a: [String: JSONValue] = [:]) -> LayerSpec { LayerSpec(t, a) }
        func n(_ v: Int) -> JSONValue { .number(Double(v)) }
        let features = inputShape.reduce(1, *)
        switch self {
        case .dense:
            let k = codeSize ?? 32
            return ArchitectureSpec(name: rawValue, encoder: [l("flatten"), l("linear", ["out": n(k)]), l("relu")],
                                    decoder: [l("linear", ["out": n(features)]), l("sigmoid")])
        case .deepDense:
            let k = codeSize ?? 32
            return ArchitectureSpec(name: rawValue,
                                    encoder: [l("flatten"), l("linear", ["out": n(128)]), l("relu"), l("linear", ["out": n(64)]), l("relu"),
                                              l("linear", ["out": n(k)]), l("relu")],
                                    decoder: [l("linear", ["out": n(64)]), l("relu"), l("linear", ["out": n(128)]), l("relu"),
                                              l("linear", ["out": n(features)]), l("sigmoid")])
        case .linear:
            let k = codeSize ?? 16
            return ArchitectureSpec(name: rawValue, encoder: [l("flatten"), l("linear", ["out": n(k)])],
                                    decoder: [l("linear", ["out": n(features)])])
        case .lstm:
            guard inputShape.count == 2 else {
                throw BottleneckError.invalid(.preset, "'lstm' needs sequences [steps, features] (cut a time series into windows), got \(formatShape(inputShape))")
            }
            let k = codeSize ?? 16, hidden = 64
            return ArchitectureSpec(name: rawValue,
                                    encoder: [l("lstm", ["hidden": n(hidden)]), l("last_step"), l("linear", ["out": n(k)])],
                                    decoder: [l("repeat", ["steps": n(inputShape[0])]), l("lstm", ["hidden": n(hidden)]),
                                              l("linear", ["out": n(inputShape[1])])])
        case .resnet:
            // The conv preset with a ResNet-style encoder in front of the same dense code and decoder.
            var base = try Preset.conv.spec(inputShape: inputShape, codeSize: codeSize)
            base.name = rawValue
            base.encoder = [l("conv2d", ["out": n(32), "kernel": n(3), "padding": n(1), "bias": .bool(false)]), l("batchnorm2d"), l("relu"),
                            l("residual", ["out": n(32)]), l("residual", ["out": n(64), "stride": n(2)]),
                            l("residual", ["out": n(32), "stride": n(2)])] + base.encoder.suffix(3)
            return base
        case .conv:
            let (c, h, w) = try imageDims(inputShape)
            // Two stride-2 3x3 convs with padding 1: H -> ceil(H/2) -> ceil(H/4); the transposed
            // convs' output_padding is chosen per size so the decoder returns exactly H x W.
            let h1 = (h - 1) / 2 + 1, w1 = (w - 1) / 2 + 1, h2 = (h1 - 1) / 2 + 1, w2 = (w1 - 1) / 2 + 1
            let k = codeSize ?? 128
            func op(_ target: Int, _ from: Int) -> JSONValue { n(target - 2 * from + 1) }
            return ArchitectureSpec(name: rawValue,
                encoder: [l("conv2d", ["out": n(16), "kernel": n(3), "stride": n(2), "padding": n(1)]), l("relu"),
                          l("conv2d", ["out": n(32), "kernel": n(3), "stride": n(2), "padding": n(1)]), l("relu"),
                          l("flatten"), l("linear", ["out": n(k)]), l("relu")],
                decoder: [l("linear", ["out": n(32 * h2 * w2)]), l("relu"), l("unflatten", ["shape": .array([n(32), n(h2), n(w2)])]),
                          l("conv_transpose2d", ["out": n(16), "kernel": n(3), "stride": n(2), "padding": n(1),
                                                 "output_padding": .array([op(h1, h2), op(w1, w2)])]), l("relu"),
                          l("conv_transpose2d", ["out": n(c), "kernel": n(3), "stride": n(2), "padding": n(1),
                                                 "output_padding": .array([op(h, h1), op(w, w1)])]), l("sigmoid")])
        case .convBN:
            let (c, h, w) = try imageDims(inputShape)
            guard h % 4 == 0, w % 4 == 0 else {
                throw BottleneckError("preset 'conv-bn' pools twice by 2: image height and width must be multiples of 4, got \(h)x\(w)")
            }
            func block(_ out: Int) -> [LayerSpec] {
                [l("conv2d", ["out": n(out), "kernel": n(3), "padding": .string("same")]), l("batchnorm2d"), l("leaky_relu", ["slope": .number(0.01)])]
            }
            return ArchitectureSpec(name: rawValue,
                encoder: block(64) + [l("maxpool2d", ["kernel": n(2)])] + block(64) + [l("maxpool2d", ["kernel": n(2)])],
                decoder: block(64) + [l("upsample", ["scale": n(2)])] + block(64) + [l("upsample", ["scale": n(2)]),
                         l("conv2d", ["out": n(c), "kernel": n(3), "padding": .string("same")]), l("sigmoid")])
        }
    }

    private func imageDims(_ s: [Int]) throws -> (Int, Int, Int) {
        switch s.count {
        case 3: return (s[0], s[1], s[2])
        case 2: return (1, s[0], s[1])
        default: throw BottleneckError("preset '\(rawValue)' needs image data [channels, height, width], got samples of shape \(formatShape(s))")
        }
    }
}
