import NumericCore
import TestSupport
import XCTest
import _Differentiation

/// A small nested model: the walk must reach tensors inside a sub-struct too.
struct Affine: Differentiable {
    var weight: Tensor
    var bias: Tensor
}
struct TwoLayer: ParameterWalkable {
    var first: Affine
    var second: Affine
    var scale: Tensor
    @noDerivative var name: String = "toy"

    var parameterPaths: [ParameterPath<TwoLayer>] {
        [ParameterPath("first.weight", \.first.weight, \.first.weight),
         ParameterPath("first.bias", \.first.bias, \.first.bias),
         ParameterPath("second.weight", \.second.weight, \.second.weight),
         ParameterPath("second.bias", \.second.bias, \.second.bias),
         ParameterPath("scale", \.scale, \.scale)]
    }

    @differentiable(reverse)
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = (matmul(x, first.weight) + first.bias).tanh()
        return (matmul(h, second.weight) + second.bias) * scale
    }
}

struct Scalar2: ParameterWalkable {
    var p: Tensor
    var parameterPaths: [ParameterPath<Scalar2>] { [ParameterPath("p", \.p, \.p)] }
}

final class OptimizerTests: XCTestCase {
    func makeModel() -> TwoLayer {
        var rng = Xoshiro256(seed: 31)
        return TwoLayer(first: Affine(weight: Tensor.randomNormal([3, 4], using: &rng), bias: Tensor(zeros: [4])),
                        second: Affine(weight: Tensor.randomNormal([4, 2], using: &rng), bias: Tensor(zeros: [2])),
                        scale: Tensor(1))
    }

    func testWalkCoversEveryParameter() {
        assertWalkCoversEveryParameter(makeModel())
        XCTAssertEqual(makeModel().parameterCount, 12 + 4 + 8 + 2 + 1)
    }

    func testAdamMatchesHandComputedSteps() {
        // θ₀ = (1, −2), lr = 0.1, default β and ε. Step 1 with g = (0.5, 0.1): m̂ = g, v̂ = g², so
        // θ₁ = θ₀ − 0.1 g / (|g| + 1e−8). Step 2 with g = (−1, 0.3), evaluated by hand from the update rule.
        var model = Scalar2(p: Tensor([1, -2]))
        var adam = Adam(for: model, learningRate: 0.1)
        adam.update(&model, along: Scalar2.TangentVector(p: Tensor([0.5, 0.1])))
        XCTAssertEqual(model.p.scalars[0], 1 - 0.1 * 0.5 / (0.5 + 1e-8), accuracy: 1e-15)
        XCTAssertEqual(model.p.scalars[1], -2 - 0.1 * 0.1 / (0.1 + 1e-8), accuracy: 1e-15)
        adam.update(&model, along: Scalar2.TangentVector(p: Tensor([-1, 0.3])))
        XCTAssertEqual(model.p.scalars[0], 0.9366103542405654, accuracy: 1e-14)
        XCTAssertEqual(model.p.scalars[1], -2.19177809779441, accuracy: 1e-14)
        XCTAssertEqual(adam.step, 2)
    }

    func testSGDStepAndMomentum() {
        var model = Scalar2(p: Tensor([1, 2]))
        var sgd = SGD(for: model, learningRate: 0.5, momentum: 0.9)
        let g = Scalar2.TangentVector(p: Tensor([0.2, -0.4]))
        sgd.update(&model, along: g)                         // v = g
        XCTAssertEqual(model.p, Tensor([0.9, 2.2]))
        sgd.update(&model, along: g)                         // v = 0.9 g + g = 1.9 g
        assertClose(model.p, Tensor([0.9 - 0.5 * 0.38, 2.2 + 0.5 * 0.76]), tolerance: 1e-15)
    }

    func testAdamReducesARegressionLossAndTouchesEveryParameter() {
        var model = makeModel()
        let before = model
        var rng = Xoshiro256(seed: 32)
        let x = Tensor.randomNormal([16, 3], using: &rng), y = Tensor.randomNormal([16, 2], using: &rng)
        var adam = Adam(for: model, learningRate: 0.02)
        var first = 0.0, last = 0.0
        for step in 0..<200 {
            let (loss, grad) = valueWithGradient(at: model) { m in meanSquaredError(predicted: m(x), expected: y) }
            if step == 0 { first = loss }
            last = loss
            adam.update(&model, along: grad)
        }
        XCTAssertLessThan(last, 0.5 * first)
        for ((name, b), (_, a)) in zip(before.namedParameters, model.namedParameters) {
            XCTAssertNotEqual(a, b, "\(name) was not updated")
        }
    }

    func testGradientClippingScalesToMaxNorm() {
        var model = Scalar2(p: Tensor([0, 0]))
        var sgd = SGD(for: model, learningRate: 1)
        var adam = Adam(for: model, learningRate: 1, maxGradientNorm: 1)
        let g = Scalar2.TangentVector(p: Tensor([3, 4]))      // norm 5
        XCTAssertEqual(model.gradientNorm(g), 5)
        sgd.update(&model, along: g)
        XCTAssertEqual(model.p, Tensor([-3, -4]))
        // Adam's first step is lr · sign(g) regardless of scale; clipping must not change the direction.
        var m2 = Scalar2(p: Tensor([0, 0]))
        adam.update(&m2, along: g)
        assertClose(m2.p, Tensor([-1, -1]), tolerance: 1e-7)
    }
}
