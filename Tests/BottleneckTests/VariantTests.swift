import XCTest
import Foundation
@testable import Bottleneck

/// Each variant does what it claims, measured on Fashion-MNIST's test set after short training.
final class VariantTests: XCTestCase {
    func report(_ s: String) { print("[variant] " + s) }

    /// KL sparsity drives the mean code activation to the target rate; a plain model of the same
    /// shape sits far above it.
    func testSparseKLReachesTargetRate() throws {
        // Overcomplete (256 units): at 5% activity about 13 units per image still reconstruct it.
        let spec = denseSpec(code: 256, activation: "sigmoid")
        let (plain, _, _) = try trainVariant(spec, variant: nil, epochs: 2)
        let (sparse, _, _) = try trainVariant(spec, variant: VariantSpec(kind: "sparse", options: ["penalty": .string("kl"), "rate": .number(0.05), "weight": .number(0.01)]), epochs: 2)
        let plainRate = Double(codes(plain, FMNIST.test).mean().item), sparseRate = Double(codes(sparse, FMNIST.test).mean().item)
        report("sparse KL: mean activation \(sparseRate) (plain \(plainRate)); test MSE \(try testMSE(sparse)) (plain \(try testMSE(plain)))")
        XCTAssertEqual(sparseRate, 0.05, accuracy: 0.03)
        XCTAssertGreaterThan(plainRate, 0.2)
    }

    func testSparseL1HalvesMeanAbsoluteCode() throws {
        let spec = denseSpec(code: 64, activation: "relu")
        let (plain, _, _) = try trainVariant(spec, variant: nil, epochs: 2)
        let (sparse, _, _) = try trainVariant(spec, variant: VariantSpec(kind: "sparse", options: ["penalty": .string("l1"), "weight": .number(1e-4)]), epochs: 2)
        let a = Double(codes(plain, FMNIST.test).abs().mean().item), b = Double(codes(sparse, FMNIST.test).abs().mean().item)
        report("sparse L1: mean |h| \(b) (plain \(a)); test MSE \(try testMSE(sparse)) (plain \(try testMSE(plain)))")
        XCTAssertLessThanOrEqual(b * 2, a)
    }

    /// The contractive penalty halves the encoder's Jacobian norm at a reconstruction error no
    /// more than 20% worse.
    func testContractiveLowersJacobianNorm() throws {
        let spec = denseSpec(code: 64, activation: "sigmoid")
        let (plain, _, _) = try trainVariant(spec, variant: nil, epochs: 2)
        let (cae, _, _) = try trainVariant(spec, variant: VariantSpec(kind: "contractive", options: ["weight": .number(0.002)]), epochs: 2)
        let probe = FMNIST.test.inputs.rows(0, 200).copy()
        let jp = meanJacobianNorm(plain, probe), jc = meanJacobianNorm(cae, probe)
        let mp = try testMSE(plain), mc = try testMSE(cae)
        report("contractive: mean ||J||_F \(jc) (plain \(jp)); test MSE \(mc) (plain \(mp))")
        XCTAssertLessThanOrEqual(jc * 2, jp)
        XCTAssertLessThanOrEqual(mc, mp * 1.2)
    }
}
