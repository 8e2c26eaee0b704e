// Notebook 05 — Fu, Chen, Jia & Sharan (2024), "Transformers learn to achieve second-order convergence rates for
// in-context linear regression": which algorithm does each layer of a deeper linear transformer track?
// Run: swift run -c release notebook-05-fu          (full: the akyurek-deep preset, ~1.5 min; writes report/)
//      swift run -c release notebook-05-fu --quick --out /tmp/nb05
import Analysis
import Experiments
import Foundation
import Models
import NumericCore
import Plots
import Tasks

var config = try Presets.named("akyurek-deep")
var nb = Notebook(
    title: "05 — Layers of a deeper linear transformer against GD, Newton and ridge",
    paper: "Fu, Chen, Jia & Sharan (2024), *Transformers learn to achieve second-order convergence rates for in-context linear regression* (layer-wise match to iterative Newton, SimE); Akyürek et al. (2023) for the ridge path.",
    claim: "Successive layers of a trained transformer track successive iterates of an algorithm; Fu et al. find iterative Newton (an exponentially faster match than GD) with high error similarity (SimE).",
    setting: [("task", "d = 5, n = 15 context points + 1 query, x ~ N(0, I), w ~ N(0, I), σ = 0.1"),
              ("model", "4-layer LSA, 2 heads, init N(0, 0.05²), token clamp ±100"),
              ("training", "Adam, lr 2e-3, clip 10, batch 1,024, 3,000 steps (quick mode: 100 × 256), seed 0"),
              ("note", "Fu et al. train softmax GPT-2 models; this is the linear-attention version (the GPT version is `fu-newton-probe`, to come)")],
    defaultDirectory: "Notebooks/05-Fu/report")
config = nb.shortened(config, steps: 100)
let report = try Comparison.run(config, quiet: true)
nb.prose("## Each layer against each algorithm\n\nBest-matching step of GD (η line-searched for 4 steps), iterative Newton and the ridge λ path, by squared prediction difference; the verdict says \"none\" unless the distance is within 0.25 of the layer's own error.")
nb.table(report.layers)
if let heat = report.figures.first(where: { $0.file == "layers_vs_references.svg" }) {
    nb.figure(heat.file, svg: heat.svg, caption: "Distance of each layer to each algorithm's best step (log colour scale).")
}
if let probes = report.probes { nb.table(probes) }
if let curve = report.contextCurve { nb.table(curve) }
if let errors = report.figures.first(where: { $0.file == "error_vs_examples.svg" }) {
    nb.figure(errors.file, svg: errors.svg, caption: "Error at point k from the k points before it: the last layer against the algorithms.")
}
let newtonSteps = report.layerRows.map { row in row.matches.first { $0.key == "Newton" }.map { $0.match.algorithmLabel } ?? "—" }
// The context table's Newton row (its SimE column): missing means the report changed shape, which must fail loudly.
guard let simE = report.contextCurve?.rows.first(where: { $0.first?.plain == "Newton" }).map({ $0[1].plain }) else {
    fatalError("notebook 05: the context-length table has no Newton row")
}
nb.paperVersusOurs([
    ("best Newton iterate per layer", "increases by 1–4 per layer until it saturates (GPT-2)", newtonSteps.joined(separator: " → "), "seed 0, \(config.training.steps) steps; linear attention"),
    ("last layer's SimE to Newton", "≥ 0.85 (their 12-layer GPT-2)", simE, "mean cosine of error vectors over positions"),
    ("verdicts", "Newton, layer by layer", report.layerRows.map { $0.verdict.description }.joined(separator: "; "), "honest: none when no algorithm is within ρ ≤ 0.25"),
])
try nb.write()
