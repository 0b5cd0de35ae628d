import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// Sparse autoencoder: reconstruction plus a penalty that keeps the code's units mostly inactive.
public final class SparseObjective: Objective {
    public typealias Penalty = SparsePenalty

    public let penalty: Penalty
    public let lossKind: LossKind
    public init(penalty: Penalty, loss: LossKind = .mse) {
        self.penalty = penalty
        lossKind = loss
    }
    public var name: String { "sparse (\(penalty))" }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(input)
        let (recon, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        let flat = code.reshaped([code.shape[0], -1])
        let term: Tensor
        let label: String
        switch penalty {
        case .l1(let weight):
            term = flat.abs().sum(axis: 1).mean() * weight
            label = "l1"
        case .kl(let rate, let weight):
            term = sparsityKL(flat, rate: rate) * weight
            label = "kl"
        }
        return LossTerms(total: recon + term, parts: [("reconstruction", recon.item), (label, term.item)], code: code, reconstruction: r)
    }
}

/// sum_j KL(rho || rho_hat_j) with rho_hat_j the batch mean of unit j, clamped away from 0 and 1.
public func sparsityKL(_ code: Tensor, rate rho: Float) -> Tensor {
    let rhoHat = code.mean(axis: 0).clamp(1e-6, 1 - 1e-6)
    let a = (rhoHat.log() * -rho) + rho * Foundation.log(rho)
    let b = ((1 - rhoHat).log() * -(1 - rho)) + (1 - rho) * Foundation.log(1 - rho)
    return (a + b).sum()
}
