// Notebook 01 — von Oswald et al. (2023), "Transformers learn in-context by gradient descent", Fig. 2.
// Run: swift run -c release notebook-01-von-oswald            (full: the von-oswald preset, ~15 s; writes report/)
//      swift run -c release notebook-01-von-oswald --quick --out /tmp/nb01   (seconds; what the tests run)
import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Plots
import Tasks

var config = try Presets.named("von-oswald")
var nb = Notebook(
    title: "01 — A trained linear self-attention layer is one step of gradient descent",
    paper: "von Oswald, Niklasson, Randazzo, Sacramento, Mordvintsev, Zhmoginov & Vladymyrov (2023), *Transformers learn in-context by gradient descent*, Fig. 2 and Proposition 1.",
    claim: "One linear self-attention layer can implement one step of GD on the in-context least-squares loss exactly, and a 1-layer LSA trained on linear regression converges to that construction: same loss as line-searched one-step GD, same predictions, same sensitivities.",
    setting: [("task", "d = 10, n = 10 context points + 1 query, x ~ U(−½, ½)^d (their code; the paper says U(−1, 1)), w ~ N(0, I), no noise"),
              ("model", "1-layer LSA, 2 heads, W_KQ, W_PV ∈ R^{11×11}, init N(0, 0.02²)"),
              ("training", "Adam, lr 1e-3, batch 2,048 fresh prompts per step, 5,000 steps (quick mode: 300 steps × 256), seed 0"),
              ("evaluation", "1,000 fresh prompts (seed 12345); GD's η line-searched on separate prompts")],
    defaultDirectory: "Notebooks/01-VonOswald/report")
config = nb.shortened(config, steps: 300)

nb.prose("""
## 1. The construction

With tokens z_j = (x_j, y_j) and the query's y-entry 0, the layer z_j ← z_j + (1/n) W_PV (Σ_i z_i z_iᵀ) W_KQ z_j with \
W_KQ = [[I, 0], [0, 0]] and W_PV = [[0, 0], [0, −η]] adds −η · (1/n) Σ_i y_i x_iᵀ x_q to the query's y-entry: minus \
the prediction of one GD step from w = 0 on L(w) = (1/2n)‖y − Xw‖². We build it and run both on the same prompts.
""")
let task = config.task.linearRegression!
var rng = Xoshiro256(seed: 1)
let prompts = task.sample(batch: nb.quick ? 300 : 2000, using: &rng)
let (eta, gdLoss) = LineSearch.bestGradientDescentStep(prompts: prompts, steps: 1)
let constructed = LinearSelfAttention.gradientDescent(dimension: task.dimension, steps: 1, learningRate: eta)
let difference = constructed.queryTrajectory(prompts).final.maxAbsDifference(GradientDescent(steps: 1, learningRate: eta).queryTrajectory(prompts).final)
nb.prose("Line-searched η = \(Cell.format(eta)); one-step GD reaches ½·MSE = \(Cell.format(gdLoss / 2)). The constructed layer and GD differ by at most **\(String(format: "%.1e", difference))** over \(prompts.batchSize) prompts: the same function, to rounding.")

nb.prose("## 2. Training a 1-layer LSA\n\nThe same run as `icl compare --preset von-oswald`\(nb.quick ? " (shortened)" : ""): train, then line each layer up with GD, Newton, ridge and OLS.")
let report = try Comparison.run(config, quiet: true)
nb.table(report.baselines)
nb.table(report.layers)
for figure in report.figures {
    let caption: String
    switch figure.file {
    case "error_vs_examples.svg": caption = "Error at point k predicted from the k points before it: the trained layer and line-searched one-step GD lie on top of each other; OLS and Newton, which need more than one step, do better."
    case "layers_vs_references.svg": caption = "Distance (SPD) of the trained layer to each reference's best-matching step: GD is by far the closest."
    default: caption = "Training loss (query MSE) at every step."
    }
    nb.figure(figure.file, svg: figure.svg, caption: caption)
}

let row = report.layerRows[0]
let gdMatch = row.matches.first { $0.key == "GD" }!
let modelMSE = row.error
let gdRow = report.baselines.rows.first { $0[0].plain.hasPrefix("GD, 1 step") }
let gdMSE: Double = { if let r = gdRow, case .number(let x) = r[1] { return x } else { return .nan } }()
nb.paperVersusOurs([
    ("½·MSE of the trained 1-layer LSA", "≈ 0.2 (Fig. 2, read off the plot)", Cell.format(modelMSE / 2), "seed 0, \(config.training.steps) steps"),
    ("½·MSE of one GD step (line-searched η)", "≈ 0.2", Cell.format(gdMSE / 2), "η line-searched for one step on separate prompts (baselines table)"),
    ("cosine of sensitivities (model vs GD)", "≈ 1 (Fig. 2)", gdMatch.cosine.map { Cell.format($0) } ?? "—", "mean over prompts of cos(∂ŷ/∂x_q)"),
    ("closest algorithm", "one step of GD", row.verdict.description, "ρ = SPD / model MSE ≤ 0.25 required"),
])
try nb.write()
