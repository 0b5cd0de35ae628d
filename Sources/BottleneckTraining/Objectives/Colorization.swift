import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// Grayscale to colour. The model sees the gray image copied to three channels and predicts RGB;
/// with `keepLuma` (the default of `--variant colorize`) its output is shifted per pixel so its
/// luma equals the input's: the model only decides the colour, the brightness detail comes from
/// the input, as in most colorisation methods.
public enum Colorization {
    /// ITU-R 601 luma weights, as `Image.converted(toChannels: 1)` and PIL's "L" mode.
    public static let lumaWeights: [Float] = [0.299, 0.587, 0.114]

    /// Luma of RGB images [N, 3, H, W] as [N, 1, H, W] (differentiable).
    public static func luma(_ rgb: Tensor) -> Tensor {
        precondition(rgb.rank == 4 && rgb.shape[1] == 3, "luma needs [N, 3, H, W], got \(rgb.shape)")
        return rgb.narrow(axis: 1, start: 0, length: 1) * lumaWeights[0] + rgb.narrow(axis: 1, start: 1, length: 1) * lumaWeights[1]
            + rgb.narrow(axis: 1, start: 2, length: 1) * lumaWeights[2]
    }

    /// The gray version of RGB images, copied to 3 channels: the model's input, and the baseline.
    public static func grayInput(_ rgb: Tensor) -> Tensor {
        withoutGradients {
            let y = luma(rgb.detached())
            return Tensor.concat([y, y, y], axis: 1)
        }
    }

    /// Gray images [N, 1, H, W] or [N, 3, H, W] (channels equal) as the 3-channel model input.
    public static func replicated(_ gray: Tensor) throws -> Tensor {
        guard gray.rank == 4, gray.shape[1] == 1 || gray.shape[1] == 3 else {
            throw BottleneckError("colorization needs gray images [N, 1, H, W], got \(formatShape(gray.shape))")
        }
        if gray.shape[1] == 3 { return grayInput(gray) }
        return Tensor.concat([gray, gray, gray], axis: 1)
    }

    /// `prediction` shifted per pixel so its luma equals `input`'s (the gray copy): adds
    /// luma(input) - luma(prediction) to every channel (the weights sum to 1). Differentiable.
    public static func keepingLuma(_ prediction: Tensor, input: Tensor) -> Tensor {
        prediction + (luma(input.detached()) - luma(prediction))
    }

    /// Whether a model's variant asks for its luma to be kept (colorize models: yes unless keep_luma is false).
    public static func keepsLuma(_ model: Autoencoder) -> Bool {
        guard case .colorize(let keepLuma)? = model.spec.variant?.kind else { return false }
        return keepLuma
    }
}
