import Models

extension LinearSelfAttention: TrainableLearner {}
extension RestrictedLoopedLSA: TrainableLearner {}
