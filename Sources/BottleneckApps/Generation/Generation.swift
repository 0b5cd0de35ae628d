import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining
/// New samples from generative autoencoders (VAE, AAE): decode draws from the latent prior.
public enum Generation {
    /// The prior a model's codes were trained to follow, or an error for models without one.
    public static func prior(of model: Autoencoder) throws -> LatentPrior {
        switch model.spec.variant?.kind {
        case .vae?: return .gaussian
        case .aae(let settings)?: return settings.prior
        default:
            throw BottleneckError("model '\(model.spec.name)' is a \(model.spec.variant?.kind.name ?? "plain") autoencoder: generating needs a vae or aae model (one trained as variant vae or aae)")
        }
    }

    /// `count` decoded prior samples.
    public static func sample(_ model: Autoencoder, count: Int, rng: RandomGenerator) throws -> Tensor {
        let p = try prior(of: model)
        guard model.codeShape.count == 1 else { throw BottleneckError("generating needs a flat code, got \(formatShape(model.codeShape))") }
        model.eval()
        return withoutGradients { model.decode(p.sample(count, model.codeShape[0], rng: rng)) }
    }

    /// Decodes `steps` evenly spaced points on the straight line between the codes of a and b.
    public static func interpolate(_ model: Autoencoder, from a: Tensor, to b: Tensor, steps: Int) -> Tensor {
        model.eval()
        return withoutGradients {
            let ha = model.encode(a), hb = model.encode(b)
            let path = (0..<steps).map { i -> Tensor in
                let t = steps == 1 ? 0 : Float(i) / Float(steps - 1)
                return ha * (1 - t) + hb * t
            }
            return model.decode(Tensor.concat(path, axis: 0))
        }
    }
}
