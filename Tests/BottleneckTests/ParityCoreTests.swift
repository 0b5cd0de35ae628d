import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Linear, activations, losses and Adam against PyTorch's reference tensors.
final class ParityCoreTests: XCTestCase {
    func testLinearMatchesPyTorch() throws {
        let c = try ParityCase("linear.safetensors")
        let layer = Linear(c.int("in"), c.int("out"), rng: RandomGenerator(seed: 0))
        layer.weight.assign(c["weight"]); layer.bias!.assign(c["bias"])
        let x = c["input"].copy(); x.requiresGrad = true
        let y = layer(x)
        assertClose(y, c["output"], "output")
        y.backward(seed: c["grad_output"])
        assertClose(x.gradient, c["grad_input"], "grad_input")
        assertClose(layer.weight.gradient, c["grad_weight"], "grad_weight")
        assertClose(layer.bias!.gradient, c["grad_bias"], "grad_bias")
    }

    func testActivationsMatchPyTorch() throws {
        let layers: [String: Module] = ["relu": ReLU(), "leaky_relu": LeakyReLU(0.01), "sigmoid": Sigmoid(), "tanh": Tanh(), "softplus": Softplus(), "gelu": GELU()]
        for (name, layer) in layers {
            let c = try ParityCase("act_\(name).safetensors")
            let x = c["input"].copy(); x.requiresGrad = true
            let y = layer(x)
            assertClose(y, c["output"], name)
            y.backward(seed: c["grad_output"])
            assertClose(x.gradient, c["grad_input"], "\(name) grad")
        }
    }

    func testLossesMatchPyTorch() throws {
        let losses: [String: (Tensor, Tensor) -> Tensor] = [
            "mse": { mseLoss($0, $1) }, "l1": { l1Loss($0, $1) }, "rmse": { rmseLoss($0, $1) },
            "bce": { bceLoss($0, $1) }, "bce_logits": { bceWithLogitsLoss($0, $1) },
        ]
        for (name, f) in losses {
            let c = try ParityCase("loss_\(name).safetensors")
            let x = c["input"].copy(); x.requiresGrad = true
            let loss = f(x, c["target"])
            assertClose(loss.reshaped([1]), c["loss"], name)
            loss.backward()
            assertClose(x.gradient, c["grad_input"], "\(name) grad")
        }
        let c = try ParityCase("loss_gaussian_kl.safetensors")
        let mu = c["mu"].copy(), logvar = c["logvar"].copy()
        mu.requiresGrad = true; logvar.requiresGrad = true
        let kl = gaussianKL(mu: mu, logvar: logvar)
        assertClose(kl.reshaped([1]), c["loss"], "kl")
        kl.backward()
        assertClose(mu.gradient, c["grad_mu"], "grad_mu")
        assertClose(logvar.gradient, c["grad_logvar"], "grad_logvar")
    }

    /// Runs an optimizer case: the parameter after each step must match PyTorch's.
    static func checkOptimizer(_ file: String, make: (Tensor, [String: Any]) -> StepOptimizer) throws {
        let c = try ParityCase(file)
        let defaults = c.config["defaults"] as? [String: Any] ?? [:]
        let p = c["param_0"].copy(); p.requiresGrad = true
        let opt = make(p, defaults)
        var k = 0
        while let g = c.tensors["grad_\(k)"] {
            p.zeroGrad()
            p.gradBuffer().update(from: g.data, count: g.count)
            opt.step()
            assertClose(p, c["param_\(k + 1)"], tol: 1e-5, "\(file) step \(k + 1)")
            k += 1
        }
        XCTAssertGreaterThan(k, 1)
    }

    func testAdamMatchesPyTorch() throws {
        try Self.checkOptimizer("optim_adam.safetensors") { p, d in
            Adam(parameters: [p], learningRate: (d["lr"] as! NSNumber).floatValue)
        }
        try Self.checkOptimizer("optim_adamw.safetensors") { p, d in
            Adam(parameters: [p], learningRate: (d["lr"] as! NSNumber).floatValue,
                 weightDecay: (d["weight_decay"] as! NSNumber).floatValue, decoupledWeightDecay: true)
        }
    }
}
