// Notebook 02 — Mahankali, Hashimoto & Ma (2024), "One step of gradient descent is provably the optimal in-context
// learner with one layer of linear self-attention".
// Run: swift run -c release notebook-02-mahankali          (full: four trainings, ~1.5 min; writes report/)
//      swift run -c release notebook-02-mahankali --quick --out /tmp/nb02
import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Plots
import Tasks
import Training

let (d, noise) = (5, 0.5)
var nb = Notebook(
    title: "02 — The optimal one-layer LSA takes one GD step of size n/(n + d + 1 + σ²)",
    paper: "Mahankali, Hashimoto & Ma (2024), *One step of gradient descent is provably the optimal in-context learner with one layer of linear self-attention*, Theorem 1.",
    claim: "For isotropic Gaussian x, w ~ N(0, I) and label noise σ, the 1-layer LSA that minimizes the expected query loss is one step of GD from 0 with step size η* = n/(n + d + 1 + σ²) on L(w) = (1/2n)‖y − Xw‖².",
    setting: [("task", "d = \(d), n ∈ {5, 10, 20, 40} context points + 1 query, x ~ N(0, I), w ~ N(0, I), σ = \(noise)"),
              ("model", "1-layer LSA, 1 head, init N(0, 0.02²)"),
              ("training", "Adam, lr 2e-3, batch 2,048 fresh prompts, 3,000 steps per n (quick mode: 200 × 256), seed 0"),
              ("measurement", "implied step size η̂: least-squares fit of the model's implied weights ∂ŷ/∂x_q (from 2d probe queries per prompt) to (1/n) Σ yᵢxᵢ, on 2,000 fresh prompts")],
    defaultDirectory: "Notebooks/02-Mahankali/report")

nb.prose("""
One GD step from w = 0 predicts ŷ = η (1/n) Σᵢ yᵢ xᵢᵀ x_q, so a layer that runs one GD step has implied weights \
proportional to the average (1/n) Σ yᵢ xᵢ; the proportionality constant is its step size. We train one layer per \
context size n and read η̂ off its implied weights.
""")
let sizes = nb.quick ? [5, 20] : [5, 10, 20, 40]
var rows: [[Cell]] = []
var measured: [(x: Double, y: Double)] = [], theory: [(x: Double, y: Double)] = []
var worst = 0.0
for n in sizes {
    let task = LinearRegressionTask(dimension: d, points: n + 1, noise: noise)
    var model = ModelSpec(kind: .lsa, layers: 1, heads: 1, initStd: 0.02).makeModel(dimension: d, seed: 0)
    let config = TrainingConfig(steps: nb.quick ? 200 : 3000, batchSize: nb.quick ? 256 : 2048, learningRate: 2e-3, seed: 0, logEvery: 0)
    try Trainer.train(&model, task: task, config: config)
    var rng = Xoshiro256(seed: 12345)
    let prompts = task.sample(batch: 2000, using: &rng)
    let (cx, cy) = prompts.context(n)
    let probes = Tensor.randomNormal([2000, 2 * d, d], using: &rng)
    let w = try Metrics.impliedWeights(of: model, contextXs: cx, contextYs: cy, probes: probes)[0]
    let avg = Averaging().weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
    let etaHat = (w * avg).sum().scalar / (avg * avg).sum().scalar
    let etaStar = Double(n) / (Double(n + d + 1) + noise * noise)
    let relative = abs(etaHat - etaStar) / etaStar
    worst = max(worst, relative)
    rows.append([.integer(n), .number(etaHat), .number(etaStar), .number(relative), .number(Metrics.meanCosine(w, avg))])
    measured.append((Double(n), etaHat))
    theory.append((Double(n), etaStar))
}
var table = ReportTable(title: "Implied step size of the trained layer vs the optimum",
                        columns: ["n", "η̂ (trained)", "η* = n/(n + d + 1 + σ²)", "relative gap", "cos(ŵ, (1/n)Σyx)"], rows: rows)
table.notes = ["cos near 1 says the layer's implied weights point along one GD step's; η̂ is then its step size."]
nb.table(table)
let plot = LinePlot.fitted(title: "Implied step size vs context size (d = \(d), σ = \(noise))", xLabel: "context points n",
                           yLabel: "step size η", series: [LinePlot.Series(name: "trained LSA η̂", points: measured),
                                                           LinePlot.Series(name: "theory η*", points: theory)], yScale: .linear)
nb.figure("step_size_vs_n.svg", svg: plot.svg, caption: "The trained layer's implied step size follows n/(n + d + 1 + σ²).")
nb.paperVersusOurs([
    ("optimal step size", "η* = n/(n + d + 1 + σ²) (Theorem 1)", "η̂ within \(String(format: "%.1f", 100 * worst)) % of η* for every n", "seed 0; \(nb.quick ? "quick mode" : "3,000 steps per n")"),
])
try nb.write()
