import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

extension Colorization {
    /// Colours gray images with a colorisation model ([N, 1 or 3, H, W] in, [N, 3, H, W] out, in [0, 1]);
    /// images larger than the model's input are coloured in overlapping tiles.
    public static func colorize(_ model: Autoencoder, gray: Tensor, keepLuma: Bool) throws -> Tensor {
        guard model.inputShape.count == 3, model.inputShape[0] == 3 else {
            throw BottleneckError("model '\(model.spec.name)' takes \(formatShape(model.inputShape)) inputs, not colour images: colorize needs a model trained as variant colorize on colour images")
        }
        let input = try replicated(gray)
        let out = try Restoration.applyAnySize(model, to: input)
        return withoutGradients { (keepLuma ? keepingLuma(out, input: input) : out).clamp(0, 1) }
    }
}
