// Notebook 04 — Ahn, Cheng, Daneshmand & Sra (2023) and Gatmiry, Saunshi, Reddi, Jegelka & Kumar (2024): a looped
// restricted LSA learns a preconditioner A ≈ cI, i.e. runs preconditioned GD, and keeps improving when looped longer.
// Run: swift run -c release notebook-04-gatmiry          (full: the gatmiry-looped preset, ~2 min; writes report/)
//      swift run -c release notebook-04-gatmiry --quick --out /tmp/nb04
import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Plots
import Tasks
import Training

var config = try Presets.named("gatmiry-looped")
var nb = Notebook(
    title: "04 — A looped linear transformer learns preconditioned gradient descent",
    paper: "Ahn, Cheng, Daneshmand & Sra (2023), *Transformers learn to implement preconditioned gradient descent for in-context learning*; Gatmiry, Saunshi, Reddi, Jegelka & Kumar (2024), *Can looped transformers learn to implement multi-step gradient descent for in-context learning?*",
    claim: "The restricted looped LSA Z ← Z − (1/n) P Z M (Zᵀ Q Z), Q = diag(A, 0), applied T times runs T steps of GD preconditioned by Aᵀ; trained on isotropic data it learns A ≈ cI (with a symmetric A), close to the best isotropic preconditioner, and looping past T keeps reducing the error.",
    setting: [("task", "d = 5, n = 20 context points + 1 query, x ~ N(0, I), w ~ N(0, I), noiseless"),
              ("model", "restricted looped LSA, A symmetric ((A + Aᵀ)/2), A₀ = 0; T = 10 loops in training, 20 at test"),
              ("training", "Adam, lr 5e-3, clip 10, batch 1,024, 1,500 steps (quick mode: 100 × 256), seed 0")],
    defaultDirectory: "Notebooks/04-Gatmiry/report")
config = nb.shortened(config, steps: 100)
let run = FileManager.default.temporaryDirectory.appendingPathComponent("nb04-\(ProcessInfo.processInfo.processIdentifier)")
defer { try? FileManager.default.removeItem(at: run) }
let report = try Comparison.run(config, runDirectory: run, mode: .overwrite, quiet: true)
let model = try Comparison.loadModel(config: config, weights: run.appendingPathComponent("model.npz")) as! RestrictedLoopedLSA
let a = model.preconditioner
let d = a.shape[0]
let c = (0..<d).reduce(0.0) { $0 + a[$1, $1] } / Double(d)
let offIsotropic = (a - Tensor.identity(d) * c).norm / a.norm

nb.prose("## The learned preconditioner\n\nc = tr(A)/d = \(Cell.format(c)); ‖A − cI‖/‖A‖ = **\(Cell.format(offIsotropic))**: the off-isotropic part is small.")
let map = Heatmap(title: "Learned preconditioner A (symmetric part)", rowLabels: (1...d).map { "row \($0)" },
                  columnLabels: (1...d).map { "col \($0)" }, values: (0..<d).map { i in (0..<d).map { a[i, $0] } }, valueLabel: "A_ij")
nb.figure("preconditioner.svg", svg: map.svg, caption: "The learned A: a bright diagonal of about c = \(Cell.format(c)), near-zero elsewhere.")
nb.prose("## Each loop iteration against the algorithms\n\nLoops 1–10 are what it was trained for; 11–20 are extrapolation.")
nb.table(report.baselines)
nb.table(report.layers)
for figure in report.figures where figure.file != "layers_vs_references.svg" {
    nb.figure(figure.file, svg: figure.svg, caption: figure.file == "training_loss.svg" ? "Training loss at every step." : "Error at point k from the k points before it (the model looped 20 times).")
}
if let heat = report.figures.first(where: { $0.file == "layers_vs_references.svg" }) {
    nb.figure(heat.file, svg: heat.svg, caption: "Distance of each loop iteration to each algorithm's best step: GD first, then Newton / ridge as the loops run on.")
}
let errors = report.layerRows.map(\.error)
let preconditionerNote = report.layers.notes.first { $0.hasPrefix("Learned preconditioner") } ?? ""
let ratio = preconditionerNote.components(separatedBy: "(ratio ").last.map { String($0.prefix { $0 != ")" }) } ?? "—"
nb.paperVersusOurs([
    ("learned preconditioner", "A ≈ cI for isotropic data", "‖A − cI‖/‖A‖ = \(Cell.format(offIsotropic)), c = \(Cell.format(c))", "seed 0, \(config.training.steps) steps"),
    ("loss at T = 10 vs the best cI", "≈ 1 (near-optimal)", ratio, "trained / best isotropic, on the evaluation prompts"),
    ("looping past training depth", "error keeps decreasing", "MSE \(Cell.format(errors[9])) at T = 10 → \(Cell.format(errors.last!)) at T = 20", errors.last! < errors[9] ? "decreases" : "does not decrease"),
])
try nb.write()
