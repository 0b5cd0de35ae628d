import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

final class CoreOpsTests: XCTestCase {
    func testBroadcastShapes() {
        XCTAssertEqual(broadcastShape([4, 3], [3]), [4, 3])
        XCTAssertEqual(broadcastShape([2, 1, 5], [3, 1]), [2, 3, 5])
        XCTAssertNil(broadcastShape([2, 3], [4]))
    }

    func testBinaryOpsGradientsWithBroadcasting() {
        let shapes: [([Int], [Int])] = [([3, 4], [3, 4]), ([3, 4], [4]), ([2, 3, 4], [3, 1]), ([2, 1, 4], [1, 3, 1]), ([5], [])]
        for (sa, sb) in shapes {
            gradCheck([randn(sa, seed: 1), randn(sb, seed: 2)]) { $0[0] + $0[1] }
            gradCheck([randn(sa, seed: 1), randn(sb, seed: 2)]) { $0[0] - $0[1] }
            gradCheck([randn(sa, seed: 1), randn(sb, seed: 2)]) { $0[0] * $0[1] }
            let denominator = randn(sb, seed: 3).abs() + 1
            gradCheck([randn(sa, seed: 1), denominator]) { $0[0] / $0[1] }
        }
    }

    func testBroadcastValues() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 1], values: [10, 20])
        XCTAssertEqual((a + b).scalars, [11, 12, 13, 24, 25, 26])
        XCTAssertEqual((a * Tensor([1, 0, 2])).scalars, [1, 0, 6, 4, 0, 12])
    }

    func testUnaryOpsGradients() {
        for shape in [[7], [3, 5], [2, 3, 4]] {
            let x = awayFromZero(shape)
            gradCheck([x]) { $0[0].relu() }
            gradCheck([x]) { $0[0].leakyRelu(0.1) }
            gradCheck([x]) { $0[0].sigmoid() }
            gradCheck([x]) { $0[0].tanh() }
            gradCheck([x]) { $0[0].softplus() }
            gradCheck([x]) { $0[0].gelu() }
            gradCheck([x]) { $0[0].exp() }
            gradCheck([x]) { $0[0].square() }
            gradCheck([x]) { $0[0].abs() }
            gradCheck([Tensor([-2, -0.5, 0.1, 0.3, 1.5])]) { $0[0].clamp(-1, 1) }
            let positive = (x.abs() + 0.5).detached()
            gradCheck([positive]) { $0[0].log() }
            gradCheck([positive]) { $0[0].sqrt() }
            gradCheck([positive]) { $0[0].pow(1.5) }
        }
    }

    func testMatmulAndLinearGradients() {
        for (m, k, n) in [(1, 1, 1), (3, 4, 5), (6, 2, 3)] {
            gradCheck([randn([m, k]), randn([k, n], seed: 2)]) { $0[0].matmul($0[1]) }
            gradCheck([randn([m, k]), randn([n, k], seed: 2), randn([n], seed: 3)]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
            gradCheck([randn([m, k]), randn([n, k], seed: 2)]) { $0[0].linear(weight: $0[1], bias: nil) }
        }
    }

    func testMatmulValues() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], values: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(a.matmul(b).scalars, [58, 64, 139, 154])
    }

    func testReductionsGradients() {
        let x = randn([2, 3, 4])
        gradCheck([x]) { $0[0].sum() }
        gradCheck([x]) { $0[0].mean() }
        for axis in 0..<3 {
            gradCheck([x]) { $0[0].sum(axis: axis) }
            gradCheck([x]) { $0[0].mean(axis: axis, keepDims: true) }
            gradCheck([x]) { $0[0].max(axis: axis) }
        }
        XCTAssertEqual(Tensor(shape: [2, 3], values: [1, 5, 2, 7, 0, 3]).argmax(axis: 1), [1, 0])
        XCTAssertEqual(Tensor(shape: [2, 3], values: [1, 5, 2, 7, 0, 3]).sum(axis: 0).scalars, [8, 5, 5])
    }

    func testShapeOpsGradients() {
        let x = randn([2, 3, 4])
        gradCheck([x]) { $0[0].reshaped([6, -1]) }
        gradCheck([x]) { $0[0].permuted([2, 0, 1]) }
        gradCheck([x]) { $0[0].narrow(axis: 2, start: 1, length: 2) }
        gradCheck([x]) { $0[0].rows(1, 1) }
        gradCheck([x]) { $0[0].gather(rows: [1, 0, 1]) }
        gradCheck([x, randn([2, 2, 4], seed: 5)]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        gradCheck([randn([3, 2]), randn([3, 2], seed: 4)]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        XCTAssertEqual(Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]).transposed().scalars, [1, 4, 2, 5, 3, 6])
    }

    func testSameTensorUsedTwiceAccumulates() {
        let x = Tensor([1, 2, 3])
        x.requiresGrad = true
        ((x * x) + x).sum().backward()
        XCTAssertEqual(x.gradient.scalars, [3, 5, 7])
    }

    func testNoGradientModeRecordsNothing() {
        let w = Tensor([1, 2])
        w.requiresGrad = true
        let y = withoutGradients { (w * 3).sum() }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue((w * 3).sum().requiresGrad)
    }

    func testDetachStopsGradient() {
        let x = Tensor([2])
        x.requiresGrad = true
        ((x * x.detached()) + x * 0).sum().backward()
        XCTAssertEqual(x.gradient.scalars, [2])
    }

    func testSeededGeneratorIsDeterministic() {
        let a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        XCTAssertEqual((0..<5).map { _ in a.normal() }, (0..<5).map { _ in b.normal() })
        XCTAssertEqual(a.permutation(10), b.permutation(10))
        XCTAssertNotEqual(RandomGenerator(seed: 1).next(), RandomGenerator(seed: 2).next())
        let snap = a.snapshot
        let next = a.uniform()
        a.restore(snap)
        XCTAssertEqual(a.uniform(), next)
        let n = Tensor.normal([10_000], rng: RandomGenerator(seed: 3))
        XCTAssertEqual(n.mean().item, 0, accuracy: 0.05)
        XCTAssertEqual((n * n).mean().item, 1, accuracy: 0.05)
    }
}
