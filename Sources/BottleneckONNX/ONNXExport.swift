import Foundation
import SwiftProtobuf
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Which graph of a model to export.
public enum ONNXPart: String, CaseIterable, Sendable {
    /// Raw inputs to raw reconstructions.
    case full
    /// Raw inputs to codes (a VAE's mean).
    case encoder
    /// Codes to raw reconstructions.
    case decoder
}

/// A model bundle's inference graph as an ONNX model (opset 17): the input scaling and its
/// inverse inside the graph, so callers feed raw data as they do to Bottleneck; the weights as
/// raw float32 initializers; the architecture, scaling, feature names and detector in
/// `metadata_props`. The same bundle gives the same bytes.
public struct ONNXExport {
    public static let opset: Int64 = 17

    /// The serialized model.
    public static func export(_ bundle: TrainedModel, part: ONNXPart = .full) throws -> Data {
        var g = GraphBuilder()
        let model = bundle.model
        let (inputShape, outputShape): ([Int], [Int])
        var x: String
        switch part {
        case .full, .encoder:
            inputShape = model.inputShape
            x = "input"
            x = try g.scale(x, bundle.scaler, rank: inputShape.count + 1, inverse: false)
        case .decoder:
            inputShape = model.codeShape
            x = "code"
        }
        if part != .decoder {
            x = try g.sequential(model.encoder, x, shape: model.inputShape, prefix: "encoder")
            if model.isVariational { x = g.slice(x, axis: 1, start: 0, end: model.codeShape[0], name: "code_mean") }
        }
        if part != .encoder {
            x = try g.sequential(model.decoder, x, shape: model.codeShape, prefix: "decoder")
            x = try g.scale(x, bundle.scaler, rank: model.inputShape.count + 1, inverse: true)
        }
        outputShape = part == .encoder ? model.codeShape : model.inputShape
        let outputName = part == .encoder ? "code" : "reconstruction"
        g.nodes.append(node("Identity", [x], [outputName], name: "output"))

        var graph = Onnx_GraphProto()
        graph.name = "\(model.spec.name)-\(part.rawValue)"
        graph.node = g.nodes
        graph.initializer = g.initializers
        graph.input = [valueInfo(part == .decoder ? "code" : "input", shape: inputShape)]
        graph.output = [valueInfo(outputName, shape: outputShape)]

        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "bottleneck"
        m.producerVersion = BottleneckVersion.current
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opset17
        m.opsetImport = [opset]
        m.graph = graph
        m.metadataProps = try metadata(bundle, part: part)
        return try m.serializedData()
    }

    static let opset17 = opset

    /// The bundle's documents as metadata_props, in a fixed order.
    static func metadata(_ bundle: TrainedModel, part: ONNXPart) throws -> [Onnx_StringStringEntryProto] {
        func entry(_ k: String, _ v: String) -> Onnx_StringStringEntryProto {
            var e = Onnx_StringStringEntryProto()
            (e.key, e.value) = (k, v)
            return e
        }
        var out = [entry("bottleneck_part", part.rawValue), entry("architecture", try jsonString(bundle.architecture)),
                   entry("scaling", try bundle.scaler.jsonString())]
        if let f = bundle.featureNames { out.append(entry("features", try jsonString(f))) }
        if let c = bundle.classes { out.append(entry("classes", try jsonString(c))) }
        if let d = bundle.detector {
            out.append(entry("detector", try jsonString(d)))
            out.append(entry("threshold", String(format: "%.9g", d.threshold)))
            out.append(entry("score", d.score.rawValue))
        }
        return out
    }

    static func valueInfo(_ name: String, shape: [Int]) -> Onnx_ValueInfoProto {
        var t = Onnx_TypeProto.Tensor()
        t.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var s = Onnx_TensorShapeProto()
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "batch"
        s.dim = [batch] + shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        t.shape = s
        var type = Onnx_TypeProto()
        type.tensorType = t
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type = type
        return v
    }
}

func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = op
    n.input = inputs
    n.output = outputs
    n.name = name
    n.attribute = attributes
    return n
}

func attribute(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .ints
    a.ints = ints.map(Int64.init)
    return a
}

func attribute(_ name: String, int: Int) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .int
    a.i = Int64(int)
    return a
}

func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .float
    a.f = float
    return a
}

func attribute(_ name: String, string: String) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .string
    a.s = Data(string.utf8)
    return a
}

/// Nodes and initializers as they are added, with unique names from the layer paths.
struct GraphBuilder {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []

    /// A float32 initializer of `values` with `dims`.
    mutating func constant(_ name: String, _ values: [Float], dims: [Int]) -> String {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return name
    }

    mutating func constant(_ name: String, _ tensor: Tensor, dims: [Int]? = nil) -> String {
        constant(name, tensor.scalars, dims: dims ?? tensor.shape)
    }

    mutating func int64Constant(_ name: String, _ values: [Int]) -> String {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.rawData = values.map(Int64.init).withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return name
    }

    /// A 0-d int64 initializer.
    mutating func int64Scalar(_ name: String, _ value: Int) -> String {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.rawData = [Int64(value)].withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return name
    }

    mutating func op(_ type: String, _ inputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = []) -> String {
        nodes.append(node(type, inputs, [name], name: name, attributes))
        return name
    }

    mutating func slice(_ x: String, axis: Int, start: Int, end: Int, name: String) -> String {
        op("Slice", [x, int64Constant(name + ".starts", [start]), int64Constant(name + ".ends", [end]), int64Constant(name + ".axes", [axis])], name: name)
    }

    /// The scaler's transform (or inverse) on a batch of `rank` axes.
    mutating func scale(_ x: String, _ s: Scaler, rank: Int, inverse: Bool) throws -> String {
        guard s.kind != .none else { return x }
        let dims: [Int]
        if s.kind == .fixedRange {
            dims = [1]
        } else {
            let axis = rank + s.featureAxis  // from the end
            dims = [s.shift.count] + [Int](repeating: 1, count: rank - axis - 1)
        }
        let tag = inverse ? "unscale" : "scale"
        let shift = constant("\(tag).shift", s.kind == .fixedRange ? [s.shift[0]] : s.shift, dims: dims)
        let divisor = constant("\(tag).divisor", s.kind == .fixedRange ? [s.divisor[0]] : s.divisor, dims: dims)
        if inverse { return op("Add", [op("Mul", [x, divisor], name: "\(tag).mul"), shift], name: "\(tag).add") }
        return op("Div", [op("Sub", [x, shift], name: "\(tag).sub"), divisor], name: "\(tag).div")
    }

    /// The layers of `seq` on `input`, whose per-sample shape is `shape`.
    mutating func sequential(_ seq: Sequential, _ input: String, shape: [Int], prefix: String) throws -> String {
        var x = input, shape = shape
        for (i, layer) in seq.layers.enumerated() {
            x = try self.layer(layer, x, shape: shape, path: "\(prefix).\(i)")
            shape = try layer.outputShape(for: shape)
        }
        return x
    }

    /// One layer's nodes; every layer type of the library, or an error naming the one that has no ONNX form here.
    mutating func layer(_ layer: Module, _ x: String, shape: [Int], path p: String) throws -> String {
        switch layer {
        case let l as Linear:
            guard shape.count > 1 else {
                var inputs = [x, constant(p + ".weight", l.weight)]
                if let b = l.bias { inputs.append(constant(p + ".bias", b)) }
                return op("Gemm", inputs, name: p, [attribute("transB", int: 1)])
            }
            // Gemm takes 2-D inputs; a Linear on [N, T, F] (sequence models) is a MatMul by W^T.
            var transposed = [Float](repeating: 0, count: l.weight.count)
            for o in 0..<l.outFeatures { for i in 0..<l.inFeatures { transposed[i * l.outFeatures + o] = l.weight.data[o * l.inFeatures + i] } }
            let product = op("MatMul", [x, constant(p + ".weight_t", transposed, dims: [l.inFeatures, l.outFeatures])], name: p + ".matmul")
            return l.bias.map { op("Add", [product, constant(p + ".bias", $0)], name: p) } ?? product
        case let l as Conv2D:
            let (before, after) = l.padding.resolved(kernel: l.kernelSize, dilation: l.dilation)
            var inputs = [x, constant(p + ".weight", l.weight)]
            if let b = l.bias { inputs.append(constant(p + ".bias", b)) }
            return op("Conv", inputs, name: p, [attribute("kernel_shape", ints: [l.kernelSize.h, l.kernelSize.w]),
                                                 attribute("strides", ints: [l.stride.h, l.stride.w]),
                                                 attribute("pads", ints: [before.h, before.w, after.h, after.w]),
                                                 attribute("dilations", ints: [l.dilation.h, l.dilation.w])])
        case let l as ConvTranspose2D:
            var inputs = [x, constant(p + ".weight", l.weight)]
            if let b = l.bias { inputs.append(constant(p + ".bias", b)) }
            return op("ConvTranspose", inputs, name: p, [attribute("kernel_shape", ints: [l.kernelSize.h, l.kernelSize.w]),
                                                          attribute("strides", ints: [l.stride.h, l.stride.w]),
                                                          attribute("pads", ints: [l.padding.h, l.padding.w, l.padding.h, l.padding.w]),
                                                          attribute("output_padding", ints: [l.outputPadding.h, l.outputPadding.w]),
                                                          attribute("dilations", ints: [l.dilation.h, l.dilation.w])])
        case let l as BatchNorm:
            return op("BatchNormalization", [x, constant(p + ".weight", l.weight), constant(p + ".bias", l.bias),
                                             constant(p + ".running_mean", l.runningMean), constant(p + ".running_var", l.runningVariance)],
                      name: p, [attribute("epsilon", float: l.eps)])
        case is ReLU: return op("Relu", [x], name: p)
        case let l as LeakyReLU: return op("LeakyRelu", [x], name: p, [attribute("alpha", float: l.slope)])
        case is Sigmoid: return op("Sigmoid", [x], name: p)
        case is Tanh: return op("Tanh", [x], name: p)
        case is Softplus: return op("Softplus", [x], name: p)
        case is GELU:
            // Opset 17 has no Gelu: x * (1 + erf(x / sqrt 2)) / 2, as PyTorch's exact GELU.
            let erf = op("Erf", [op("Div", [x, constant(p + ".sqrt2", [Float(2).squareRoot()], dims: [1])], name: p + ".scaled")], name: p + ".erf")
            let one = op("Add", [erf, constant(p + ".one", [1], dims: [1])], name: p + ".one_plus")
            return op("Mul", [op("Mul", [x, one], name: p + ".product"), constant(p + ".half", [0.5], dims: [1])], name: p)
        case is Identity, is Dropout: return op("Identity", [x], name: p)
        case is Flatten: return op("Flatten", [x], name: p, [attribute("axis", int: 1)])
        case let l as Unflatten: return op("Reshape", [x, int64Constant(p + ".shape", [-1] + l.shape)], name: p)
        case let l as MaxPool2D:
            return op("MaxPool", [x], name: p, [attribute("kernel_shape", ints: [l.kernel.h, l.kernel.w]), attribute("strides", ints: [l.stride.h, l.stride.w]),
                                                 attribute("pads", ints: [l.padding.h, l.padding.w, l.padding.h, l.padding.w])])
        case let l as AvgPool2D:
            return op("AveragePool", [x], name: p, [attribute("kernel_shape", ints: [l.kernel.h, l.kernel.w]), attribute("strides", ints: [l.stride.h, l.stride.w]),
                                                     attribute("pads", ints: [l.padding.h, l.padding.w, l.padding.h, l.padding.w]),
                                                     attribute("count_include_pad", int: l.countIncludePad ? 1 : 0)])
        case let l as Upsample2D:
            let scales = constant(p + ".scales", [1, 1, Float(l.scale.h), Float(l.scale.w)], dims: [4])
            let attributes = l.mode == .nearest
                ? [attribute("mode", string: "nearest"), attribute("coordinate_transformation_mode", string: "asymmetric"), attribute("nearest_mode", string: "floor")]
                : [attribute("mode", string: "linear"), attribute("coordinate_transformation_mode", string: l.alignCorners ? "align_corners" : "pytorch_half_pixel")]
            return op("Resize", [x, "", scales], name: p, attributes)
        case let l as ResidualBlock:
            let mid = try l.conv1.outputShape(for: shape)
            var y = try self.layer(l.conv1, x, shape: shape, path: p + ".conv1")
            y = op("Relu", [try self.layer(l.bn1, y, shape: mid, path: p + ".bn1")], name: p + ".relu1")
            y = try self.layer(l.bn2, try self.layer(l.conv2, y, shape: mid, path: p + ".conv2"), shape: mid, path: p + ".bn2")
            let skip = try l.shortcut.map { try sequential($0, x, shape: shape, prefix: p + ".shortcut") } ?? x
            return op("Relu", [op("Add", [y, skip], name: p + ".add")], name: p)
        case let l as Sequential:
            return try sequential(l, x, shape: shape, prefix: p)
        case let l as LSTM:
            // PyTorch's gate blocks are (input, forget, cell, output); ONNX's (input, output, forget, cell).
            let h = l.hiddenSize
            func reordered(_ t: Tensor) -> [Float] {
                let block = t.count / 4, v = t.scalars
                return [0, 3, 1, 2].flatMap { Array(v[($0 * block)..<(($0 + 1) * block)]) }
            }
            let w = constant(p + ".W", reordered(l.weightIH), dims: [1, 4 * h, l.inputSize])
            let r = constant(p + ".R", reordered(l.weightHH), dims: [1, 4 * h, h])
            let b = constant(p + ".B", reordered(l.biasIH) + reordered(l.biasHH), dims: [1, 8 * h])
            // Time-major, as onnxruntime runs it: [N, T, F] -> [T, N, F], and back from [T, 1, N, H].
            let timeMajor = op("Transpose", [x], name: p + ".time_major", [attribute("perm", ints: [1, 0, 2])])
            let y = op("LSTM", [timeMajor, w, r, b], name: p + ".lstm", [attribute("hidden_size", int: h)])
            let squeezed = op("Squeeze", [y, int64Constant(p + ".axes", [1])], name: p + ".squeeze")
            return op("Transpose", [squeezed], name: p, [attribute("perm", ints: [1, 0, 2])])
        case is LastStep:
            return op("Gather", [x, int64Scalar(p + ".last", shape[0] - 1)], name: p, [attribute("axis", int: 1)])
        case let l as RepeatVector:
            let unsqueezed = op("Unsqueeze", [x, int64Constant(p + ".axes", [1])], name: p + ".unsqueeze")
            return op("Tile", [unsqueezed, int64Constant(p + ".repeats", [1, l.steps, 1])], name: p)
        default:
            throw BottleneckError("ONNX export: layer \(p) (\(layer.typeName)) has no ONNX form in Bottleneck yet")
        }
    }
}
