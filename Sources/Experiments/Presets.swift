import Foundation
import Tasks
import Training

/// Named settings from the papers. `icl compare --preset NAME`; each resolves to a `ComparisonConfig`.
public enum Presets {
    public static let names = ["flagship", "looped-flagship", "von-oswald", "mahankali", "akyurek-deep", "gatmiry-looped",
                               "gatmiry-looped-free", "looped-lsa", "covariate-shift", "raventos-pool", "lsa-gmm", "lsa-fourier-mixture",
                               "lsa-boolean-conjunction", "lsa-graph-connectivity", "garg-linear", "garg-linear-interleaved", "yang-looped", "algoformer-linear",
                               "fu-newton-probe", "bhattamishra-conjunction", "bhattamishra-parity", "bhattamishra-parity-teaching",
                               "panwar-gmm", "panwar-fourier-mixture", "raventos-two-regimes", "raventos-two-regimes-fresh",
                               "gpt-graph-connectivity", "saparov-search-naive", "saparov-search-balanced", "ci-tiny"]

    /// One line per preset for `--help` and `icl presets` (the config's `summary` says more).
    public static func tagline(_ name: String) -> String {
        switch name {
        case "flagship": return "von Oswald: a 1-layer LSA is one GD step (1,500 steps, seconds)"
        case "looped-flagship": return "looped restricted LSA: GD, then Newton/ridge when looped longer (seconds)"
        case "von-oswald": return "von Oswald et al. Fig. 2: 1-layer LSA vs one GD step (5,000 steps)"
        case "mahankali": return "Mahankali: implied step size n/(n + d + 1 + σ²), Gaussian x, σ = 0.5"
        case "akyurek-deep": return "Akyürek / Fu: a 4-layer LSA moves from GD toward ridge, Newton, OLS"
        case "gatmiry-looped": return "Ahn / Gatmiry: looped restricted LSA learns A ≈ cI (symmetric A)"
        case "gatmiry-looped-free": return "as gatmiry-looped with A unconstrained"
        case "looped-lsa": return "full looped LSA, T = 6 (12 at test): Newton-like, unstable past T"
        case "covariate-shift": return "Zhang–Frei–Bartlett: mahankali's model evaluated on 2·x"
        case "raventos-pool": return "Raventós: a pool of 16 tasks, dMMSE vs ridge"
        case "lsa-gmm": return "Panwar: Gaussian-mixture regression, 3-layer LSA vs the posterior mean"
        case "lsa-fourier-mixture": return "Panwar: Fourier-series mixture, 2-layer LSA vs the Bayesian average"
        case "lsa-boolean-conjunction": return "Bhattamishra: Boolean conjunctions (±1), 2-layer LSA"
        case "lsa-graph-connectivity": return "graph connectivity over adjacency rows, 3-layer LSA vs BFS / k-hop"
        case "garg-linear": return "Garg: GPT (4 layers, width 64), every-prefix loss, paired tokens"
        case "garg-linear-interleaved": return "as garg-linear with Garg's interleaved x / y tokens"
        case "yang-looped": return "Yang: one GPT block looped 8× with input injection, 40 loops at test"
        case "algoformer-linear": return "AlgoFormer: pre-block, looped block (8×, 16 at test), post-block"
        case "fu-newton-probe": return "Fu: garg-linear's model, layer by layer against GD and iterative Newton"
        case "bhattamishra-conjunction": return "Bhattamishra: conjunctions (n = 10), 3-layer GPT vs elimination"
        case "bhattamishra-parity": return "Bhattamishra: 2-sparse parities (n = 10), 3-layer GPT vs GF(2) elimination"
        case "bhattamishra-parity-teaching": return "as bhattamishra-parity, each prompt opening with a teaching sequence"
        case "panwar-gmm": return "Panwar: Gaussian-mixture regression (d = 5, 8 points), GPT vs the mixture PME"
        case "panwar-fourier-mixture": return "Panwar: Fourier mixture N ∈ {1, 2, 3}, GPT vs the Bayesian average"
        case "raventos-two-regimes": return "Raventós: GPT pretrained on 4 tasks, near dMMSE on them"
        case "raventos-two-regimes-fresh": return "Raventós: GPT pretrained on fresh tasks, near ridge"
        case "gpt-graph-connectivity": return "graph connectivity over adjacency rows, 3-layer transformer encoder vs BFS / k-hop"
        case "saparov-search-naive": return "Saparov: search decoder (4 layers) trained on random DAGs, tested on balanced graphs"
        case "saparov-search-balanced": return "Saparov: search decoder (4 layers) trained on balanced lookahead ≤ 3, same test"
        case "ci-tiny": return "d = 3, n = 7, 200 steps: the tests' seconds-long run"
        default: return ""
        }
    }

    /// garg-linear's training, shared by the GPT presets of the other families: AdamW 1e-3 (decay 0.01), 200
    /// warm-up steps, cosine to 0.1×, batch 64, clip 1, every-prefix loss, 2 micro-batches, seed 0.
    static func gptTraining(steps: Int) -> TrainingConfig {
        TrainingConfig(steps: steps, batchSize: 64, learningRate: 1e-3, maxGradientNorm: 1, seed: 0, logEvery: 250,
                       objective: .everyPrefix, weightDecay: 0.01, warmupSteps: 200, schedule: .cosine,
                       finalLearningRateFraction: 0.1, microBatches: 2)
    }

    /// A GPT preset (width 64, 4 heads, paired layout, GPT-2 init) with `gptTraining`, evaluated on 2,000 prompts.
    static func gptPreset(_ name: String, summary: String, task: TaskConfig, layers: Int, steps: Int) -> ExperimentConfig {
        ExperimentConfig(name: name, summary: summary, task: task,
                         model: ModelSpec(kind: .transformer, layers: layers, heads: 4, initStd: 0.02, width: 64),
                         training: gptTraining(steps: steps), evaluation: EvaluationConfig(prompts: 2000))
    }

    /// Saparov et al.'s search presets: a 4-layer search decoder (width 32, 4 heads: a quarter of width 64's cost per
    /// step, which fits 3,000 steps in the time budget) trained on `distribution` over V = 9 vertices with
    /// `gptTraining` at learning rate 2e-3 (one question per prompt), evaluated on one fixed balanced test set:
    /// 3,000 prompts, two branches, lookahead uniform in 1…3 at the fork (evaluation seed 12345).
    static func searchPreset(_ name: String, summary: String, distribution: GraphTask.Distribution, steps: Int) -> ExperimentConfig {
        var training = gptTraining(steps: steps)
        training.objective = .query
        training.learningRate = 2e-3
        return ExperimentConfig(name: name, summary: summary, task: .graphSearch(GraphSearchTask(vertices: 9, distribution: distribution)),
                                model: ModelSpec(kind: .searchDecoder, layers: 4, heads: 4, initStd: 0.02, width: 32),
                                training: training,
                                evaluation: EvaluationConfig(prompts: 3000, task: .graphSearch(GraphSearchTask(
                                    vertices: 9, distribution: .balanced(maxLookahead: 3, branches: 2)))))
    }

    public static func named(_ name: String) throws -> ComparisonConfig {
        switch name {
        case "flagship":
            // von Oswald's setting, sized to train in seconds: a 1-layer LSA becomes one step of GD.
            var c = try named("von-oswald")
            c.name = "flagship"
            c.summary = "von Oswald et al. (2023): a trained 1-layer LSA is one step of GD (d = n = 10, x ~ U(−½, ½)); short training"
            c.training.steps = 1500
            c.training.learningRate = 3e-3
            c.training.batchSize = 1024
            return c
        case "von-oswald":
            return ComparisonConfig(
                name: name,
                summary: "von Oswald et al. (2023), Fig. 2: d = n = 10, x ~ U(−½, ½) as in their code, w ~ N(0, I), noiseless; 1-layer LSA, 2 heads",
                task: LinearRegressionTask(dimension: 10, points: 11, inputs: .uniform(halfWidth: 0.5)),
                model: ModelSpec(kind: .lsa, layers: 1, heads: 2, initStd: 0.02),
                training: TrainingConfig(steps: 5000, batchSize: 2048, learningRate: 1e-3, seed: 0, logEvery: 500))
        case "mahankali":
            return ComparisonConfig(
                name: name,
                summary: "Mahankali et al. (2024): isotropic Gaussian x, w ~ N(0, I), σ = 0.5; the optimal 1-layer LSA is one GD step with η* = n/(n + d + 1 + σ²)",
                task: LinearRegressionTask(dimension: 5, points: 21, noise: 0.5),
                model: ModelSpec(kind: .lsa, layers: 1, heads: 1, initStd: 0.02),
                training: TrainingConfig(steps: 4000, batchSize: 2048, learningRate: 2e-3, seed: 0, logEvery: 500))
        case "akyurek-deep":
            return ComparisonConfig(
                name: name,
                summary: "Akyürek et al. (2023) / Fu et al. (2024): a deeper LSA stack moves from GD toward ridge / Newton / OLS",
                task: LinearRegressionTask(dimension: 5, points: 16, noise: 0.1),
                model: ModelSpec(kind: .lsa, layers: 4, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 3000, batchSize: 1024, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "looped-flagship":
            var c = try named("gatmiry-looped")
            c.name = name
            c.summary = "A looped restricted LSA (symmetric A, T = 6 loops in training, 12 at test) runs preconditioned GD and, looped longer, moves toward Newton / ridge / OLS; short training"
            c.model.depth = 6
            c.model.evaluationDepth = 12
            c.training.steps = 300
            c.training.batchSize = 512
            c.training.learningRate = 1e-2
            return c
        case "gatmiry-looped":
            return ComparisonConfig(
                name: name,
                summary: "Ahn et al. (2023) / Gatmiry et al. (2024): a looped restricted LSA with a symmetric preconditioner learns A ≈ cI (preconditioned GD); T = 10 loops in training, 20 at test",
                task: LinearRegressionTask(dimension: 5, points: 21),
                model: ModelSpec(kind: .restricted, depth: 10, evaluationDepth: 20, initStd: 0, symmetricPreconditioner: true),
                training: TrainingConfig(steps: 1500, batchSize: 1024, learningRate: 5e-3, maxGradientNorm: 10, seed: 0, logEvery: 250))
        case "gatmiry-looped-free":
            var c = try named("gatmiry-looped")
            c.name = name
            c.summary = "As gatmiry-looped with an unconstrained A: training also finds an antisymmetric part that beats every isotropic preconditioner"
            c.model.symmetricPreconditioner = false
            return c
        case "looped-lsa":
            return ComparisonConfig(
                name: name,
                summary: "A looped (shared-weight) full LSA, T = 6 loops in training, 12 at test",
                task: LinearRegressionTask(dimension: 5, points: 21),
                model: ModelSpec(kind: .looped, depth: 6, evaluationDepth: 12, heads: 1, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 2000, batchSize: 1024, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 250))
        case "covariate-shift":
            var c = try named("mahankali")
            c.name = name
            c.summary = "Zhang, Frei & Bartlett (2024): a 1-layer LSA trained on x ~ N(0, I) and tested on 2x scales its prediction by 2³ instead of 2, so it stops matching any GD step"
            c.training.steps = 1500
            var shifted = c.task.linearRegression!
            shifted.inputScale = 2
            c.evaluation.task = .linearRegression(shifted)
            return c
        case "raventos-pool":
            return ComparisonConfig(
                name: name,
                summary: "Raventós et al. (2023): D = 8, 16 points, σ² = 0.25, pretraining on a pool of M = 16 tasks; is the model closer to dMMSE or to ridge?",
                task: LinearRegressionTask(dimension: 8, points: 16, weights: .pool(size: 16, scale: 1, poolSeed: 2023), noise: 0.5),
                model: ModelSpec(kind: .lsa, layers: 2, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 2000, batchSize: 1024, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "lsa-gmm":
            return ExperimentConfig(
                name: name,
                summary: "Panwar et al. (2024)'s Gaussian mixture of regressions (d = 5, w ~ ½𝒩(+3e₁, I) + ½𝒩(−3e₁, I), σ = 0.1) with a 3-layer LSA: does it follow the mixture's posterior mean, or the linear ladder (GD, ridge, OLS)?",
                task: .gaussianMixture(GaussianMixtureTask(dimension: 5, points: 11, noise: 0.1)),
                model: ModelSpec(kind: .lsa, layers: 3, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 2000, batchSize: 1024, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "lsa-fourier-mixture":
            return ExperimentConfig(
                name: name,
                summary: "Panwar et al. (2024)'s Fourier mixture (x ~ U(−5, 5), N ∈ {1, 2, 3} uniform, 16 points) with a 2-layer LSA on the raw scalar x: a linear read-out can only be linear in x, so what does it track?",
                task: .fourier(FourierTask.mixture(maxFrequency: 3, points: 16)),
                model: ModelSpec(kind: .lsa, layers: 2, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 2000, batchSize: 1024, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "lsa-boolean-conjunction":
            return ExperimentConfig(
                name: name,
                summary: "Bhattamishra et al. (2024)'s conjunctions (n = 10, 30 points, ±1 encoding, balanced) with a 2-layer LSA trained by the logistic loss: how close to elimination does a linear model get?",
                task: .boolean(BooleanTask(variables: 10, points: 30, functionClass: .conjunction)),
                model: ModelSpec(kind: .lsa, layers: 2, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 1500, batchSize: 512, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "lsa-graph-connectivity":
            return ExperimentConfig(
                name: name,
                summary: "Connectivity on directed Erdős–Rényi graphs (V = 8, p = 0.15) as adjacency-row tokens, 3-layer LSA with the logistic loss: does layer k track k-hop reachability?",
                task: .graphConnectivity(GraphConnectivityTask(vertices: 8, distribution: .erdosRenyi(p: 0.15))),
                model: ModelSpec(kind: .lsa, layers: 3, heads: 2, initStd: 0.05, tokenClamp: 100),
                training: TrainingConfig(steps: 1500, batchSize: 512, learningRate: 2e-3, maxGradientNorm: 10, seed: 0, logEvery: 500))
        case "garg-linear":
            return gptPreset(name, summary: "Garg et al. (2022): a GPT-style transformer (4 layers, width 64, 4 heads, paired layout) trained on every prefix of d = 5 linear regression matches least squares",
                             task: .linearRegression(LinearRegressionTask(dimension: 5, points: 16)), layers: 4, steps: 2000)
        case "garg-linear-interleaved":
            var c = try named("garg-linear")
            c.name = name
            c.summary = "Garg et al.'s own layout: x and y as separate tokens with learned positions, causal mask, y read at x's token (4 layers, width 64, 4 heads); without their dimension curriculum it plateaus far longer than the paired layout"
            c.model.layoutName = .interleaved
            return c
        case "yang-looped":
            var c = try named("garg-linear")
            c.name = name
            c.summary = "Yang et al. (2024): one transformer block looped with input injection (width 64, 4 heads, 8 loops in training with a 4 → 8 loop curriculum and a 4-iteration backpropagation window, 40 at test) on d = 5 linear regression"
            c.model = ModelSpec(kind: .loopedTransformer, depth: 8, evaluationDepth: 40, heads: 4, initStd: 0.02, width: 64, window: 4)
            c.training.loopCurriculum = Ramp(start: 4, increment: 1, every: 250)
            return c
        case "algoformer-linear":
            var c = try named("yang-looped")
            c.name = name
            c.summary = "AlgoFormer (Gao et al. 2024): a pre-block, one looped block (8 loops, window 4, curriculum 4 → 8; 16 at test) and a post-block on d = 5 linear regression"
            c.model = ModelSpec(kind: .algoFormer, depth: 8, evaluationDepth: 16, heads: 4, initStd: 0.02, width: 64, window: 4,
                                preLayers: 1, postLayers: 1)
            return c
        case "fu-newton-probe":
            var c = try named("garg-linear")
            c.name = name
            c.summary = "Fu et al. (2024) on garg-linear's model (the same training, so the same weights): each layer against GD (up to 256 steps) and iterative Newton (up to 12 iterations), with linear probes and the error similarity SimE"
            c.evaluation.gradientDescentSteps = 256
            c.evaluation.newtonSteps = 12
            return c
        case "bhattamishra-conjunction":
            return gptPreset(name, summary: "Bhattamishra et al. (2024): conjunctions (n = 10, 30 points, ±1 encoding, balanced) with a 3-layer GPT (width 64, 4 heads, paired layout) trained by the logistic loss on every prefix; near elimination, above nearest neighbour?",
                             task: .boolean(BooleanTask(variables: 10, points: 30, functionClass: .conjunction)), layers: 3, steps: 1500)
        case "bhattamishra-parity":
            return gptPreset(name, summary: "Bhattamishra et al. (2024): 2-sparse parities over n = 10 variables (30 points) with a 3-layer GPT: the model stays near chance while Gaussian elimination over GF(2) is exact",
                             task: .boolean(BooleanTask(variables: 10, points: 30, functionClass: .sparseParity(support: 2))), layers: 3, steps: 1000)
        case "bhattamishra-parity-teaching":
            var c = try named("bhattamishra-parity")
            c.name = name
            c.summary = "As bhattamishra-parity with every prompt opening with the parity's teaching sequence (all +1, then each variable flipped alone: n + 1 = 11 points that identify the support); after it, the model should be exact"
            c.task = .boolean(BooleanTask(variables: 10, points: 30, functionClass: .sparseParity(support: 2), teachingSequence: true))
            return c
        case "panwar-gmm":
            return gptPreset(name, summary: "Panwar et al. (2024): Gaussian mixture of regressions (d = 5, 8 points, w ~ ½𝒩(+3e₁, I) + ½𝒩(−3e₁, I), σ = 0.1) with garg-linear's GPT: is its error between the mixture's posterior mean and OLS, and nearer the PME?",
                             task: .gaussianMixture(GaussianMixtureTask(dimension: 5, points: 8, noise: 0.1)), layers: 4, steps: 2000)
        case "panwar-fourier-mixture":
            return gptPreset(name, summary: "Panwar et al. (2024): Fourier-series mixture (x ~ U(−5, 5), N ∈ {1, 2, 3} uniform, 16 points) with garg-linear's GPT on the scalar x: closer to the Bayesian model average than to min-norm least squares with N = 3?",
                             task: .fourier(FourierTask.mixture(maxFrequency: 3, points: 16)), layers: 4, steps: 2000)
        case "raventos-two-regimes":
            return gptPreset(name, summary: "Raventós et al. (2023), below the task-diversity threshold: D = 8, 16 points, σ² = 0.25, a GPT (4 layers, width 64) pretrained on a pool of M = 4 tasks and evaluated on them: it should beat ridge and sit near dMMSE (raventos-two-regimes-fresh is the other regime)",
                             task: .linearRegression(LinearRegressionTask(dimension: 8, points: 16, weights: .pool(size: 4, scale: 1, poolSeed: 2023), noise: 0.5)), layers: 4, steps: 1500)
        case "raventos-two-regimes-fresh":
            var c = try named("raventos-two-regimes")
            c.name = name
            c.summary = "Raventós et al. (2023), the other regime: the same GPT pretrained with a fresh w ~ N(0, I) every prompt, evaluated on the 4 tasks of raventos-two-regimes' pool (where dMMSE(4) is optimal): it should stay closer to ridge than to dMMSE(4)"
            var fresh = c.task.linearRegression!
            let pooled = fresh
            fresh.weights = .gaussian(scale: 1)
            c.task = .linearRegression(fresh)
            c.evaluation.task = .linearRegression(pooled)
            return c
        case "gpt-graph-connectivity":
            // gptTraining's batch of 64 leaves the encoder at chance for most of 1,500 steps; 256 prompts at 2e-3 learn.
            var training = gptTraining(steps: 2000)
            training.objective = .query
            training.batchSize = 256
            training.learningRate = 2e-3
            return ExperimentConfig(
                name: name,
                summary: "lsa-graph-connectivity's task (directed Erdős–Rényi, V = 8, p = 0.15, balanced labels) with a transformer encoder (3 layers, width 64, 4 heads; bidirectional attention over the adjacency-row tokens, logistic read-out at the question): does layer k track k-hop reachability or Boolean squaring?",
                task: .graphConnectivity(GraphConnectivityTask(vertices: 8, distribution: .erdosRenyi(p: 0.15))),
                model: ModelSpec(kind: .graphEncoder, layers: 3, heads: 4, initStd: 0.02, width: 64),
                training: training, evaluation: EvaluationConfig(prompts: 2000))
        case "saparov-search-naive":
            return searchPreset(name, summary: "Saparov et al. (2025), naïve training: a 4-layer search decoder trained on random DAGs (V = 9, p = 0.3; lookahead 0 in 54 % of prompts, 1 in 44 %, ≥ 2 in 2 %), tested on balanced graphs with lookahead 1–3: does it generalize to larger lookahead?",
                                distribution: .randomDAG(p: 0.3), steps: 3000)
        case "saparov-search-balanced":
            return searchPreset(name, summary: "Saparov et al. (2025), balanced training: the same decoder trained on balanced graphs (V = 9, two branches, lookahead uniform in 1–3 at the fork), tested on the same balanced test set as saparov-search-naive",
                                distribution: .balanced(maxLookahead: 3, branches: 2), steps: 3000)
        case "ci-tiny":
            return ComparisonConfig(
                name: name, summary: "A seconds-long smoke configuration for tests",
                task: LinearRegressionTask(dimension: 3, points: 8),
                model: ModelSpec(kind: .lsa, layers: 1, heads: 1, initStd: 0.02),
                training: TrainingConfig(steps: 200, batchSize: 256, learningRate: 1e-2, seed: 0, logEvery: 0),
                evaluation: EvaluationConfig(prompts: 200, ridgePoints: 12))
        default:
            throw TaskError("unknown preset '\(name)'; available: \(names.joined(separator: ", "))")
        }
    }
}
