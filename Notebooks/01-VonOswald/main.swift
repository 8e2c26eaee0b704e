// Notebook 01 — von Oswald et al. (2023), "Transformers learn in-context by gradient descent", Fig. 2.
// Run: swift run -c release notebook-01-von-oswald
//
// 1. The construction: one LSA layer with W_KQ = [[I, 0], [0, 0]], W_PV = [[0, 0], [0, −η]] *is* one GD step.
// 2. Training: a 1-layer LSA trained on d = n = 10, x ~ U(−½, ½) reaches the line-searched one-step-GD loss
//    and computes the same function (prediction distance, sensitivity cosine).
import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Tasks

let task = LinearRegressionTask(dimension: 10, points: 11, inputs: .uniform(halfWidth: 0.5))
var rng = Xoshiro256(seed: 1)
let prompts = task.sample(batch: 2000, using: &rng)
let n = prompts.pointCount - 1
let (cx, cy) = prompts.context(n)
let query = prompts.points(n..<(n + 1))

// 1. The construction equals GD to machine precision.
let (eta, gdLoss) = LineSearch.bestGradientDescentStep(prompts: prompts, steps: 1)
let constructed = LinearSelfAttention.gradientDescent(dimension: 10, steps: 1, learningRate: eta)
let gd = GradientDescent(steps: 1, learningRate: eta)
let difference = constructed.queryTrajectory(prompts).final.maxAbsDifference(gd.queryTrajectory(prompts).final)
print("line-searched η = \(String(format: "%.4f", eta)), one-step GD loss ½·MSE = \(String(format: "%.4f", gdLoss / 2))")
print("constructed LSA vs GD: max |Δŷ| = \(difference)")

// 2. Train and compare (the same run as `icl compare --preset flagship`).
let report = try Comparison.run(try Presets.named("flagship"), quiet: true)
print(report.render(.markdown))
